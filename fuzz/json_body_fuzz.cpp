// Fuzz target json_body: bytes as a request body -> util::parse_json and api::parse_json_body
// (the server's depth limit), then every endpoint's body decoder (new task, patch, new agent).
//
// Asserts: no crash, no exception; the two parsers agree on what parses (parse_json_body adds
// only refusals: non-finite numbers); a value parse_json_body accepts survives
// util::to_json -> util::parse_json unchanged (numbers bit-identical, as issue 19 demands).
#include "api/codec.hpp"
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "util/json_parse.hpp"
#include "util/json_text.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace taskd;

[[noreturn]] void finding(const char* what, std::string_view detail) {
    std::fprintf(stderr, "json_body_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

// Equal as JSON, doubles compared bit for bit (boost::json's == says 0.0 == -0.0).
bool same(const boost::json::value& a, const boost::json::value& b) {
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case boost::json::kind::double_: {
        const double x = a.get_double(), y = b.get_double();
        return std::memcmp(&x, &y, sizeof x) == 0;
    }
    case boost::json::kind::array: {
        const auto &x = a.get_array(), &y = b.get_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!same(x[i], y[i])) return false;
        return true;
    }
    case boost::json::kind::object: {
        const auto &x = a.get_object(), &y = b.get_object();
        if (x.size() != y.size()) return false;
        auto i = x.begin();
        auto j = y.begin();
        for (; i != x.end(); ++i, ++j)
            if (i->key() != j->key() || !same(i->value(), j->value())) return false;
        return true;
    }
    default:
        return a == b;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const api::ApiConfig config;

    util::JsonParseFailure failure;
    const auto plain = util::parse_json(text, config.max_json_depth, {}, failure);
    auto body = api::parse_json_body(text, config.max_json_depth);
    if (body && !plain) finding("parse_json_body accepts what parse_json refuses", text);
    if (!body) return 0;

    model::FieldErrors errors;
    (void)api::decode_new_task(*body, config, model::Timestamp{}, errors);
    errors.clear();
    (void)api::decode_patch(*body, errors);
    errors.clear();
    (void)api::decode_new_agent(*body, errors);

    const std::string written = util::to_json(*body);
    util::JsonParseFailure again_failure;
    const auto again = util::parse_json(written, config.max_json_depth, {}, again_failure);
    if (!again) finding("to_json wrote what parse_json refuses", written);
    if (!same(*body, *again)) finding("round trip changed the value", written);
    if (util::to_json(*again) != written) finding("to_json is not stable", written);
    return 0;
}
