// Logging for operators: one line per event on stderr,
//   2026-11-27T02:05:43.123456Z INFO  listening on 127.0.0.1:8000
// or, with --log-format json, one JSON object per line,
//   {"time":"2026-11-27T02:05:43.123456Z","level":"info","msg":"listening on 127.0.0.1:8000"}
// Thread-safe (each line is one write). The level and the format are set once at start.
#pragma once

#include <string>
#include <string_view>

namespace taskd::util {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { text, json };

void set_log_level(LogLevel level);
void set_log_format(LogFormat format);
LogFormat log_format();
// The start of a line: "<time> INFO  " for text, {"time":"<time>","level":"info", for JSON
// (the caller adds its fields and the closing brace).
void append_log_prefix(std::string& line, LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

inline void log_debug(std::string_view m) {
    if (log_enabled(LogLevel::debug)) log_line(LogLevel::debug, m);
}
inline void log_info(std::string_view m) { log_line(LogLevel::info, m); }
inline void log_warn(std::string_view m) { log_line(LogLevel::warn, m); }
inline void log_error(std::string_view m) { log_line(LogLevel::error, m); }

}  // namespace taskd::util
