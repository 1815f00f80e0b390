#include "util/log.hpp"

#include "model/time.hpp"
#include "util/json_text.hpp"

#include <atomic>
#include <string>
#include <unistd.h>

namespace taskd::util {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::atomic<LogFormat> g_format{LogFormat::text};

std::string_view level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO ";
        case LogLevel::warn: return "WARN ";
        case LogLevel::error: return "ERROR";
    }
    return "?    ";
}

std::string_view json_level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "?";
}

}  // namespace

void set_log_level(LogLevel level) { g_level = level; }
void set_log_format(LogFormat format) { g_format = format; }
LogFormat log_format() { return g_format.load(std::memory_order_relaxed); }

void append_log_prefix(std::string& line, LogLevel level) {
    if (log_format() == LogFormat::json) {
        line += "{\"time\":\"";
        model::append_rfc3339(line, model::SystemClock{}.now());
        line += "\",\"level\":\"";
        line += json_level_name(level);
        line += "\",";
        return;
    }
    model::append_rfc3339(line, model::SystemClock{}.now());
    line += ' ';
    line += level_name(level);
    line += ' ';
}

bool log_enabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

void log_line(LogLevel level, std::string_view message) {
    if (!log_enabled(level)) return;
    std::string line;
    line.reserve(64 + message.size());
    append_log_prefix(line, level);
    if (log_format() == LogFormat::json) {
        line += "\"msg\":";
        append_json_string(line, message);  // bytes that are not UTF-8 pass as they are
        line += '}';
    } else {
        line += message;
    }
    line += '\n';
    // One write per line: lines from different threads never interleave.
    std::string_view rest = line;
    while (!rest.empty()) {
        const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n <= 0) return;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace taskd::util
