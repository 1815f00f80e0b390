#include "store/idempotency.hpp"

#include "util/json_parse.hpp"
#include "util/json_text.hpp"

#include <openssl/sha.h>

#include <algorithm>

namespace taskd::store {
BodyDigest body_digest(const Uuid& tenant, std::string_view type, std::string_view payload_json,
                       std::uint32_t max_attempts, std::uint32_t lease_seconds, std::uint8_t priority) {
    std::string text = model::to_string(tenant);
    text += '\n';
    text += type;
    text += '\n';
    const auto payload = util::parse_json(payload_json);
    if (!payload) text += payload_json;  // stored payloads always parse; keep the digest total anyway
    else util::append_json(text, *payload, util::KeyOrder::sorted);
    text += '\n' + std::to_string(max_attempts) + '\n' + std::to_string(lease_seconds);
    if (priority != model::kDefaultPriority) text += "\npriority " + std::to_string(priority);
    BodyDigest digest{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return digest;
}

bool is_valid_idempotency_key(std::string_view key) {
    if (key.empty() || key.size() > kMaxIdempotencyKeyLength) return false;
    return std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

}  // namespace taskd::store
