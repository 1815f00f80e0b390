// Schedule: when and how urgently a task may be claimed (issue 23; API.md, "Scheduling").
//
// A pending task is claimable once `now >= not_before`; among claimable tasks a higher
// priority goes first, and within one priority the oldest (created_at, then id).
//
// Compact on purpose: every Task carries one, and the embedded store keeps a copy of a Task per
// version. `not_before` is a Timestamp with a sentinel (kNoTime: claimable at once) rather than
// std::optional<Timestamp>, which would take 16 bytes instead of 8; priority is one byte. So a
// Schedule is 16 bytes (8 + 1, padded) and a Task grows from 152 to 168 bytes.
//
// A re-queue by the admin and a release (lease expiry, agent deletion) clear not_before
// (model/transition): a task that comes back is claimable at once, as it was before issue 23.
#pragma once

#include "model/time.hpp"

#include <cstdint>
#include <optional>

namespace taskd::model {

inline constexpr std::uint8_t kDefaultPriority = 5;
inline constexpr std::uint8_t kMaxPriority = 9;
// A year: longer plans belong in the control plane's own calendar, not in a pending task.
inline constexpr std::int64_t kMaxDelaySeconds = 31'536'000;

// No not_before. Below every time RFC 3339 can write (years 0000-9999), so never a real value.
inline constexpr Timestamp kNoTime = Timestamp::min();

// Whose task a shared agent (one without a tenant) claims next (--shared-claim-order).
enum class SharedClaimOrder : std::uint8_t {
    oldest,  // the first by (priority, created_at, id) across tenants: the original's order
    fair,    // round robin over the tenants with claimable tasks, then priority, then oldest
};

struct Schedule {
    Timestamp not_before = kNoTime;
    std::uint8_t priority = kDefaultPriority;

    bool delayed() const { return not_before != kNoTime; }
    std::optional<Timestamp> not_before_time() const {
        if (!delayed()) return std::nullopt;
        return not_before;
    }
    void set_not_before(std::optional<Timestamp> t) { not_before = t.value_or(kNoTime); }
    // kNoTime is below every `now`, so this holds for an undelayed task.
    bool claimable_at(Timestamp now) const { return not_before <= now; }

    friend bool operator==(const Schedule&, const Schedule&) = default;
};

}  // namespace taskd::model
