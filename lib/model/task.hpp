// Task: one unit of work for an agent, as the store keeps it.
//
// `payload` and `result` are kept as serialized JSON text: the payload never changes after
// create, and a result is replaced whole, so both are shared immutable strings (JsonText).
// Copying a Task (to answer a request outside the store's lock) copies two pointers, not the
// documents.
#pragma once

#include "model/json_text.hpp"
#include "model/schedule.hpp"
#include "model/status.hpp"
#include "model/time.hpp"
#include "model/uuid.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace taskd::model {

// Defaults and bounds of API.md.
inline constexpr std::uint32_t kDefaultMaxAttempts = 3;
inline constexpr std::uint32_t kMaxMaxAttempts = 100;
inline constexpr std::uint32_t kDefaultLeaseSeconds = 300;
inline constexpr std::uint32_t kMaxLeaseSeconds = 86400;  // one day: longer work heartbeats
inline constexpr std::size_t kMaxTypeLength = 64;

struct Task {
    Uuid id{};
    Uuid tenant_id{};
    std::optional<Uuid> agent_id;  // the current holder while running; the last one after
    // status and attempts fill the padding agent_id's flag leaves (a Task is copied to answer
    // every request). The embedded store keeps tasks in another shape (store/task_slot.hpp).
    Status status = Status::pending;
    std::uint32_t attempts = 0;
    std::string type;
    JsonText payload;              // a JSON object, never null
    JsonText result;               // a JSON object, or null
    Timestamp created_at{};
    Timestamp updated_at{};
    std::optional<Timestamp> lease_expires_at;  // set exactly while running
    std::uint32_t max_attempts = kDefaultMaxAttempts;
    std::uint32_t lease_seconds = kDefaultLeaseSeconds;
    // One more at every change; the journal replays a state only over an older one.
    std::uint64_t version = 1;
    // Priority and not_before (model/schedule.hpp). Last, so that the fields above keep their
    // offsets and packing.
    Schedule schedule;
};

// True when `agent` holds `task` now: it is running under that agent's claim.
inline bool held_by(const Task& task, const Uuid& agent) {
    return task.status == Status::running && task.agent_id == agent;
}

}  // namespace taskd::model
