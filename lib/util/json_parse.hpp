// Parsing JSON text exactly: Boost.JSON's grammar and limits, with numbers read so that what a
// client sent is what the server stores and sends back.
//
// Why not boost::json::parse: Boost.JSON 1.81 reads some doubles one unit in the last place off
// (-2.5e-300 became -2.5000000000000003e-300; 88 of 299 random doubles in one test), and reads
// an integer beyond 64 bits as a rounded double. Here a number with a fraction or an exponent
// is read by std::from_chars, which rounds correctly, so every finite double comes back
// bit-identical once printed in its shortest form (util/json_text); a magnitude below the
// smallest subnormal reads as 0 (with its sign, as Python's json does), one above the largest
// double as infinity (which api/json_body refuses). An integer (no fraction, no exponent) that
// fits neither int64 nor uint64 is refused with `integer_too_large`, never rounded.
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace taskd::util {

struct JsonParseFailure {
    // A boost::json::error (syntax, too_deep, ...), or boost::system::errc::value_too_large for
    // an integer beyond 64 bits.
    boost::system::error_code ec;
    std::size_t offset = 0;  // bytes of the text read before the failure
    // For value_too_large: where the integer is, as object keys and array indices from the top
    // ({"a":[1,2e99999999999999999999]} -> "a", 1). Empty for other failures.
    std::vector<std::variant<std::string, std::size_t>> path;
};

// Reads `text` as one JSON document (white space around it allowed), nested at most
// `max_depth` deep. The value's memory comes from `storage`. On failure returns nothing and
// fills `failure`.
std::optional<boost::json::value> parse_json(std::string_view text, std::size_t max_depth,
                                             boost::json::storage_ptr storage, JsonParseFailure& failure);

// The same with the default storage and a depth limit of 64, for text the server wrote itself
// (stored payloads) and for answers read by tests and the load generator: nothing on failure.
std::optional<boost::json::value> parse_json(std::string_view text);

}  // namespace taskd::util
