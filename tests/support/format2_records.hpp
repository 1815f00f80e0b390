// Records as journal format 2 wrote them (before issue 23), for the tests that read old data:
// built field by field from doc/journal_format.md with the Encoder's primitives, not with
// today's encoders, so that a change to those cannot change what "old" means.
#pragma once

#include "model/uuid.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace taskd::test {

// task_created: id, tenant, type "noop", payload, created_at, max_attempts 3, lease_seconds 300,
// no idempotency key.
std::string format2_task_created(const model::Uuid& id, const model::Uuid& tenant, std::string_view payload,
                                 std::int64_t created_us);

// A snapshot_tasks run of that one task, pending.
std::string format2_snapshot_tasks(const model::Uuid& id, const model::Uuid& tenant, std::string_view payload,
                                   std::int64_t created_us);

}  // namespace taskd::test
