// Logging for operators: one line per event on stderr,
//   2026-11-27T02:05:43.123456Z INFO  listening on 127.0.0.1:8000
// Thread-safe (each line is one write). The level is set once at start.
#pragma once

#include <string_view>

namespace taskd::util {

enum class LogLevel { debug, info, warn, error };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

inline void log_debug(std::string_view m) {
    if (log_enabled(LogLevel::debug)) log_line(LogLevel::debug, m);
}
inline void log_info(std::string_view m) { log_line(LogLevel::info, m); }
inline void log_warn(std::string_view m) { log_line(LogLevel::warn, m); }
inline void log_error(std::string_view m) { log_line(LogLevel::error, m); }

}  // namespace taskd::util
