// TaskSlot: one task's place in the store for its whole life.
//
// A task is split by what changes. The slot holds what never does (id, created_at, tenant,
// type, payload, limits) and the places the indices keep; a TaskVersion holds what a change
// makes anew (status, agent, attempts, result, times, version). A reader builds the
// `model::Task` it answers with from the two (task()).
//
// It holds the two things a claim changes without the store's exclusive lock:
// - `word`, the task's status and version in one atomic word. Every change moves it by
//   compare-and-swap from the (status, version) it read, so of two claims that find the same
//   pending task in two queues (its tenant's and the shared one) exactly one wins.
// - `current`, the task's current immutable version. A change publishes a new version and
//   retires the old one; retired versions are freed only while the store's lock is held
//   exclusively (no reader can be looking then) and no snapshot is being written from them.
//
// The other members belong to whoever holds the exclusive lock.
#pragma once

#include "model/task.hpp"
#include "store/task_key.hpp"
#include "store/type_names.hpp"
#include "store/version_pool.hpp"

#include <boost/intrusive/set_hook.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace taskd::store {

// What a change makes anew: 56 bytes, a cell of the VersionPool (doc/design.md, "Memory per
// task"). Times are microseconds since the epoch, as model::Timestamp counts them.
struct TaskVersion {
    static constexpr std::int64_t kNoLease = INT64_MIN;

    explicit TaskVersion(const model::Task& t)
        : agent_id(t.agent_id.value_or(Uuid{})),
          has_agent(t.agent_id.has_value()),
          status(t.status),
          delayed(t.schedule.delayed()),
          attempts(t.attempts),
          result(t.result),
          updated_us(model::to_micros(t.updated_at)),
          lease_expires_us(t.lease_expires_at ? model::to_micros(*t.lease_expires_at) : kNoLease),
          version(t.version) {}

    // From the VersionPool: 56 bytes, not malloc's 64-byte chunk.
    static void* operator new(std::size_t) { return VersionPool::instance().allocate(); }
    static void operator delete(void* version) noexcept { VersionPool::instance().free(version); }

    std::optional<Uuid> agent() const { return has_agent ? std::optional<Uuid>(agent_id) : std::nullopt; }
    std::optional<model::Timestamp> lease_expires_at() const {
        return lease_expires_us == kNoLease ? std::nullopt : std::optional(model::from_micros(lease_expires_us));
    }

    const Uuid agent_id;  // the nil id when !has_agent
    const bool has_agent;
    const model::Status status;
    // The slot's not_before still holds (a re-queue or a release lifts it: model/transition).
    const bool delayed;
    const std::uint32_t attempts;
    const model::JsonText result;
    const std::int64_t updated_us;
    const std::int64_t lease_expires_us;
    const std::uint64_t version;
};

inline std::uint64_t make_word(std::uint64_t version, model::Status status) {
    return version << 2 | static_cast<std::uint64_t>(status);
}
inline model::Status status_of(std::uint64_t word) { return static_cast<model::Status>(word & 3); }
inline std::uint64_t version_of(std::uint64_t word) { return word >> 2; }

struct TaskSlot {
    // `first` is the task as created or recovered; `type` its name in the store's TypeNames.
    TaskSlot(model::Task&& first, const TypeNames::Name* type_name)
        : word(make_word(first.version, first.status)),
          current(new TaskVersion(first)),
          key(key_of(first)),
          tenant_id(first.tenant_id),
          type(type_name),
          payload(std::move(first.payload)),
          not_before_us(model::to_micros(first.schedule.not_before)),
          lease_seconds(first.lease_seconds),
          max_attempts(first.max_attempts),
          priority(first.schedule.priority) {}
    ~TaskSlot() { delete current.load(std::memory_order_relaxed); }
    TaskSlot(const TaskSlot&) = delete;
    TaskSlot& operator=(const TaskSlot&) = delete;

    std::atomic<std::uint64_t> word;
    std::atomic<TaskVersion*> current;
    const TaskKey key;  // id and created_at
    const Uuid tenant_id;
    const TypeNames::Name* const type;
    const model::JsonText payload;
    const std::int64_t not_before_us;  // as created; TaskVersion::delayed says whether it holds
    // Set at create, never changed; a pointer, since few tasks have one.
    std::unique_ptr<const std::string> idempotency_key;

    // Membership of the Indices' ordered sets (24 bytes each: the colour rides in a pointer).
    using Hook = boost::intrusive::set_member_hook<boost::intrusive::link_mode<boost::intrusive::normal_link>,
                                                   boost::intrusive::optimize_size<true>>;
    Hook status_hook;         // the store's set of its status
    Hook tenant_status_hook;  // its tenant's set of its status
    Hook agent_hook;          // its agent's set, while it has an agent

    // What the ordered sets hold for this task: a claim (under the shared lock) leaves them
    // behind and queues the slot on the fix-up list; the next exclusive holder moves the task
    // to its real place. The agent's set by the number Indices gives it (kNoAgent: none): 4
    // bytes where an optional<Uuid> took 17 (doc/design.md, "Memory per task").
    static constexpr std::uint32_t kNoAgent = UINT32_MAX;
    TaskSlot* next_fixup = nullptr;
    std::uint32_t indexed_agent = kNoAgent;
    const std::uint32_t lease_seconds;
    const std::uint32_t max_attempts;
    const std::uint8_t priority;
    model::Status indexed_status = model::Status::pending;
    std::atomic<bool> fixup_queued{false};

    // The current version, and the task as callers see it at a version.
    const TaskVersion& state() const { return *current.load(std::memory_order_acquire); }
    model::Task task() const { return task_at(state()); }
    model::Task task_at(const TaskVersion& v) const {
        model::Task t;
        t.id = key.id;
        t.tenant_id = tenant_id;
        t.agent_id = v.agent();
        t.status = v.status;
        t.attempts = v.attempts;
        t.type = type->first;
        t.payload = payload;
        t.result = v.result;
        t.created_at = model::from_micros(key.created_us);
        t.updated_at = model::from_micros(v.updated_us);
        t.lease_expires_at = v.lease_expires_at();
        t.max_attempts = max_attempts;
        t.lease_seconds = lease_seconds;
        t.version = v.version;
        t.schedule.priority = priority;
        t.schedule.not_before = v.delayed ? model::from_micros(not_before_us) : model::kNoTime;
        return t;
    }
};
static_assert(sizeof(TaskVersion) == VersionPool::kCellBytes);
static_assert(sizeof(TaskSlot) == 184, "doc/design.md, \"Memory per task\", counts on it");

}  // namespace taskd::store
