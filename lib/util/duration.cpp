#include "util/duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace taskd::util {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || n < 0) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::int64_t ms_per_unit = 0;
    if (unit == "ms") ms_per_unit = 1;
    else if (unit.empty() || unit == "s") ms_per_unit = 1000;
    else if (unit == "m") ms_per_unit = 60'000;
    else if (unit == "h") ms_per_unit = 3'600'000;
    else if (unit == "d") ms_per_unit = 86'400'000;
    else return std::nullopt;
    if (n > std::numeric_limits<std::int64_t>::max() / ms_per_unit) return std::nullopt;
    return std::chrono::milliseconds{n * ms_per_unit};
}

}  // namespace taskd::util
