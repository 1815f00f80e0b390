#include "api/error_response.hpp"

#include "util/json_text.hpp"

#include <charconv>

namespace taskd::api {

unsigned http_status(model::Errc code) {
    using model::Errc;
    switch (code) {
        case Errc::validation: return 422;
        case Errc::unauthorized: return 401;
        case Errc::forbidden: return 403;
        case Errc::not_found: return 404;
        case Errc::conflict:
        case Errc::lease_lost: return 409;
        case Errc::journal_failed:
        case Errc::unavailable: return 503;
        case Errc::too_many: return 429;
    }
    return 500;
}

void append_field_errors(std::string& out, const model::FieldErrors& errors) {
    out += "{\"detail\":[";
    bool first = true;
    for (const auto& e : errors) {
        if (!first) out += ',';
        first = false;
        out += "{\"loc\":[";
        bool first_part = true;
        for (const auto& part : e.loc) {
            if (!first_part) out += ',';
            first_part = false;
            if (const auto* name = std::get_if<std::string>(&part)) {
                util::append_json_string(out, *name);
            } else {
                char buf[24];
                auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::get<std::size_t>(part));
                out.append(buf, end);
            }
        }
        out += "],\"msg\":";
        util::append_json_string(out, e.msg);
        out += ",\"type\":";
        util::append_json_string(out, e.type);
        out += '}';
    }
    out += "]}";
}

http::Response error_response(const model::Error& error) {
    const unsigned status = http_status(error.code);
    if (error.code == model::Errc::validation) {
        http::Response r;
        r.status = status;
        append_field_errors(r.body, error.fields);
        return r;
    }
    http::Response r = http::json_error(status, error.detail);
    if (error.code == model::Errc::unauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    if (error.code == model::Errc::unavailable || error.code == model::Errc::journal_failed)
        r.headers.emplace_back("Retry-After", "1");
    return r;
}

}  // namespace taskd::api
