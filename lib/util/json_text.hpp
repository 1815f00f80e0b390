// Writing JSON text: every body the server sends, and the canonical form an Idempotency-Key's
// digest is taken of (store/idempotency).
//
// Boost.JSON's serializer prints 1.5 as "1.5E0"; clients would read the same number, but people
// read these documents too, so doubles are printed in their shortest round-trip form ("1.5",
// "1.0", "1e+300") and everything else as Boost.JSON would.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace taskd::util {

// `s` as a JSON string literal, quotes included. `s` must be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

// Members of an object as they are, or sorted by key (canonical: equal values, equal text).
enum class KeyOrder { as_given, sorted };

void append_json(std::string& out, const boost::json::value& v, KeyOrder order = KeyOrder::as_given);
std::string to_json(const boost::json::value& v);

}  // namespace taskd::util
