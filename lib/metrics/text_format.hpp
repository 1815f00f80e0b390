// Writing the Prometheus text exposition format, version 0.0.4: "# HELP" and "# TYPE" lines,
// then samples "name{label="value",...} number".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace taskd::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// "# HELP name help\n# TYPE name type\n"; type: counter, gauge, histogram.
void write_family(std::string& out, std::string_view name, std::string_view type, std::string_view help);
// One sample; `labels` is what goes between the braces (already escaped), or empty.
void write_sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value);
void write_sample(std::string& out, std::string_view name, std::string_view labels, double value);
// `value` as a label value: backslash, double quote and line feed escaped.
void append_label_value(std::string& out, std::string_view value);

}  // namespace taskd::metrics
