#include "util/log.hpp"

#include "model/time.hpp"

#include <atomic>
#include <string>
#include <unistd.h>

namespace taskd::util {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};

std::string_view level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO ";
        case LogLevel::warn: return "WARN ";
        case LogLevel::error: return "ERROR";
    }
    return "?    ";
}

}  // namespace

void set_log_level(LogLevel level) { g_level = level; }

bool log_enabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

void log_line(LogLevel level, std::string_view message) {
    if (!log_enabled(level)) return;
    std::string line;
    line.reserve(40 + message.size());
    model::append_rfc3339(line, model::SystemClock{}.now());
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += message;
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
