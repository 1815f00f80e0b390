// A time span as every flag of every taskd binary takes it: "500ms", "10s", "5m", "2h", "7d";
// a bare number is seconds. Whole numbers only: a flag that wants less than a second says ms.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace taskd::util {

// nullopt for anything else (a sign, a space, another unit, an overflow).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace taskd::util
