#include "store/idempotency.hpp"

#include "util/json_parse.hpp"
#include "util/json_text.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <vector>

namespace taskd::store {
namespace {

// JSON text with object members sorted by key, so that equal values have equal text.
void append_canonical(std::string& out, const boost::json::value& v) {
    if (v.is_array()) {
        out += '[';
        bool first = true;
        for (const auto& item : v.get_array()) {
            if (!first) out += ',';
            first = false;
            append_canonical(out, item);
        }
        out += ']';
        return;
    }
    if (!v.is_object()) {
        util::append_json(out, v);
        return;
    }
    std::vector<const boost::json::key_value_pair*> members;
    for (const auto& kv : v.get_object()) members.push_back(&kv);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    out += '{';
    bool first = true;
    for (const auto* kv : members) {
        if (!first) out += ',';
        first = false;
        util::append_json_string(out, kv->key());
        out += ':';
        append_canonical(out, kv->value());
    }
    out += '}';
}

}  // namespace

BodyDigest body_digest(const Uuid& tenant, std::string_view type, std::string_view payload_json,
                       std::uint32_t max_attempts, std::uint32_t lease_seconds) {
    std::string text = model::to_string(tenant);
    text += '\n';
    text += type;
    text += '\n';
    const auto payload = util::parse_json(payload_json);
    if (!payload) text += payload_json;  // stored payloads always parse; keep the digest total anyway
    else append_canonical(text, *payload);
    text += '\n' + std::to_string(max_attempts) + '\n' + std::to_string(lease_seconds);
    BodyDigest digest{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return digest;
}

bool is_valid_idempotency_key(std::string_view key) {
    if (key.empty() || key.size() > kMaxIdempotencyKeyLength) return false;
    return std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

}  // namespace taskd::store
