#include "api/json_body.hpp"

#include "util/json_parse.hpp"

#include <boost/json/error.hpp>

#include <cmath>
#include <optional>

namespace taskd::api {
namespace json = boost::json;
namespace {

// Finds the first non-finite number (1e999999 parses as infinity) and says where it is.
bool find_non_finite(const json::value& v, model::Loc& at) {
    switch (v.kind()) {
        case json::kind::double_: return !std::isfinite(v.get_double());
        case json::kind::array: {
            const auto& a = v.get_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                at.emplace_back(i);
                if (find_non_finite(a[i], at)) return true;
                at.pop_back();
            }
            return false;
        }
        case json::kind::object:
            for (const auto& kv : v.get_object()) {
                at.emplace_back(std::string(kv.key()));
                if (find_non_finite(kv.value(), at)) return true;
                at.pop_back();
            }
            return false;
        default: return false;
    }
}

}  // namespace

model::Error field_error(model::Loc loc, std::string msg, std::string type) {
    return model::validation_error({model::FieldError{std::move(loc), std::move(msg), std::move(type)}});
}

model::Result<json::value> parse_json_body(std::string_view body, std::size_t max_depth, json::storage_ptr storage) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return field_error({"body"}, "field required", "value_error.missing");

    util::JsonParseFailure failure;
    std::optional<json::value> value = util::parse_json(body, max_depth, std::move(storage), failure);
    if (!value) {
        if (failure.ec == json::error::too_deep)
            return field_error({"body"}, "JSON nested deeper than " + std::to_string(max_depth) + " levels",
                               "value_error.jsondecode");
        // Rounding it to a double would store another number than the client sent.
        if (failure.ec == boost::system::errc::value_too_large) {
            model::Loc at{"body"};
            at.insert(at.end(), failure.path.begin(), failure.path.end());
            return field_error(std::move(at),
                               "integer out of range: integers must lie between -9223372036854775808 and "
                               "18446744073709551615 (send larger ones as strings)",
                               "value_error.number.too_large");
        }
        return field_error({"body", failure.offset}, "Invalid JSON: " + failure.ec.message(),
                           "value_error.jsondecode");
    }
    model::Loc at{"body"};
    if (find_non_finite(*value, at)) return field_error(std::move(at), "numbers must be finite", "value_error.number.not_finite");
    return std::move(*value);
}

}  // namespace taskd::api
