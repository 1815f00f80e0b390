#include "http/message.hpp"

#include "util/json_text.hpp"


namespace taskd::http {

std::string_view to_string(Method m) {
    switch (m) {
        case Method::get: return "GET";
        case Method::head: return "HEAD";
        case Method::post: return "POST";
        case Method::put: return "PUT";
        case Method::patch: return "PATCH";
        case Method::delete_: return "DELETE";
        case Method::options: return "OPTIONS";
        case Method::other: return "OTHER";
    }
    return "OTHER";
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
    std::optional<std::string_view> found;
    for (const auto& [key, value] : query)
        if (key == name) found = value;
    return found;
}

Response json_error(unsigned status, std::string_view detail) {
    Response r;
    r.status = status;
    r.body = "{\"detail\":";
    util::append_json_string(r.body, detail);
    r.body += '}';
    return r;
}

}  // namespace taskd::http
