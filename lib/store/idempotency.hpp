// Idempotency-Key: a control plane that retries a create (a timeout, a dropped connection) gets
// the task it created the first time instead of a second one.
//
// The store keeps, per tenant and key, the task it created and a digest of what was asked for:
// the body as the server read it, defaults filled in, as canonical JSON (object keys sorted),
// so key order, spacing and an omitted `payload` versus `{}` do not make two requests differ.
// Keys live 24 hours and go with their task when retention drops it.
#pragma once

#include "model/agent.hpp"
#include "model/task.hpp"
#include "store/task_key.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace taskd::store {

inline constexpr std::chrono::hours kIdempotencyWindow{24};
// A key names a request; a longer one is a mistake, not a name.
inline constexpr std::size_t kMaxIdempotencyKeyLength = 255;

using BodyDigest = std::array<std::uint8_t, 32>;

// SHA-256 of {tenant_id, type, payload as canonical JSON, max_attempts, lease_seconds, priority}.
// The priority is written only when it is not the default (5), so that a task that uses no
// scheduling has the digest it had before issue 23: PostgreSQL stores digests, and a retry across
// an upgrade must still match. not_before and delay_seconds are not in it (README, "Scheduling").
BodyDigest body_digest(const Uuid& tenant, std::string_view type, std::string_view payload_json,
                       std::uint32_t max_attempts, std::uint32_t lease_seconds, std::uint8_t priority);

// 1-255 printable ASCII characters.
bool is_valid_idempotency_key(std::string_view key);

struct IdempotencyKey {
    Uuid tenant{};
    std::string key;
    friend bool operator==(const IdempotencyKey&, const IdempotencyKey&) = default;
};

struct IdempotencyKeyHash {
    std::size_t operator()(const IdempotencyKey& k) const noexcept {
        return UuidHash{}(k.tenant) ^ std::hash<std::string>{}(k.key);
    }
};

struct IdempotencyEntry {
    Uuid task{};
    BodyDigest digest{};
    model::Timestamp created_at{};
    std::uint64_t sequence = 0;  // the create's journal record: a repeat waits for it too
};

}  // namespace taskd::store
