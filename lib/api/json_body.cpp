#include "api/json_body.hpp"

#include <boost/json/error.hpp>
#include <boost/json/stream_parser.hpp>

#include <cmath>

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

    json::parse_options options;
    options.max_depth = max_depth;
    // The parser's own working stack on the stack: another allocation saved.
    unsigned char scratch[1024];
    json::stream_parser parser({}, options, scratch);
    parser.reset(std::move(storage));  // where the value lives
    boost::system::error_code ec;
    const std::size_t consumed = parser.write(body.data(), body.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec == json::error::too_deep)
        return field_error({"body"}, "JSON nested deeper than " + std::to_string(max_depth) + " levels",
                           "value_error.jsondecode");
    if (ec)
        return field_error({"body", consumed}, "Invalid JSON: " + ec.message(), "value_error.jsondecode");

    json::value value = parser.release();
    model::Loc at{"body"};
    if (find_non_finite(value, at)) return field_error(std::move(at), "numbers must be finite", "value_error.number.not_finite");
    return value;
}

}  // namespace taskd::api
