// Payload validation for the four documented task types (API.md, "Tasks").
//
// A documented type's payload must have the fields its executor needs, with the right types;
// keys it does not name are kept and ignored. Any other type accepts any object payload, as the
// original service did for its legacy types.
#pragma once

#include "model/field_error.hpp"

#include <boost/json/object.hpp>

#include <string_view>

namespace taskd::model {

inline constexpr std::size_t kMaxCompositeSteps = 100;

// Appends one FieldError per problem, each `loc` under `at` (e.g. ["body", "payload"]).
void validate_payload(std::string_view type, const boost::json::object& payload, const Loc& at, FieldErrors& out);

// True for FILE_WRITE, ENV_UPDATE, DOCKER_RELOAD, COMPOSITE.
bool is_documented_type(std::string_view type);

// `type` is 1-64 characters of [A-Za-z0-9_.-].
bool is_valid_type_name(std::string_view type);

}  // namespace taskd::model
