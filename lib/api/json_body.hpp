// Reading a request body as JSON, under the rules that hold for every body (API.md, "Errors"):
// valid JSON and UTF-8 (Boost.JSON refuses invalid UTF-8 and lone surrogates), nesting at most
// `max_depth`, finite numbers only, read exactly (util/json_parse: an integer beyond 64 bits is
// refused rather than rounded). Every failure is a validation error with loc ["body", ...];
// nothing a client sends can make the parser throw or the server answer 5xx.
#pragma once

#include "model/errc.hpp"

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace taskd::api {

// The value's memory comes from `storage`: handlers pass a monotonic_resource of their own, so
// that a body costs a few allocations rather than one per string, array and object (and
// nothing to free node by node); the value must not outlive it.
model::Result<boost::json::value> parse_json_body(std::string_view body, std::size_t max_depth,
                                                  boost::json::storage_ptr storage = {});

// A validation Error with one FieldError.
model::Error field_error(model::Loc loc, std::string msg, std::string type);

}  // namespace taskd::api
