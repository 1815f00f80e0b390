// Agent: an executor that claims tasks with a bearer token.
//
// An agent with a tenant_id claims only that tenant's tasks; one without (a "shared" agent)
// claims any tenant's. Only the SHA-256 of its token is kept.
#pragma once

#include "model/time.hpp"
#include "model/uuid.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace taskd::model {

using TokenHash = std::array<std::uint8_t, 32>;

inline constexpr std::size_t kMaxAgentNameLength = 200;

struct Agent {
    Uuid id{};
    std::string name;
    std::optional<Uuid> tenant_id;  // nullopt: shared agent
    TokenHash token_hash{};
    Timestamp created_at{};
    std::optional<Timestamp> last_seen_at;
};

// A new agent, with a fresh id, registered at `now`: both stores register agents so.
inline Agent new_agent(std::string name, std::optional<Uuid> tenant_id, const TokenHash& token_hash, Timestamp now) {
    return Agent{random_uuid(), std::move(name), tenant_id, token_hash, now, std::nullopt};
}

}  // namespace taskd::model
