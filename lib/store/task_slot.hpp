// TaskSlot: one task's place in the store for its whole life.
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

#include <boost/intrusive/set_hook.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace taskd::store {

// Nothing but the task: a link for the retire list would take it from malloc's 160-byte chunks
// to the 176-byte ones (Deferred keeps retired versions in a vector instead).
struct TaskVersion {
    explicit TaskVersion(const model::Task& t) : task(t) {}
    explicit TaskVersion(model::Task&& t) : task(std::move(t)) {}
    const model::Task task;
};

inline std::uint64_t make_word(std::uint64_t version, model::Status status) {
    return version << 2 | static_cast<std::uint64_t>(status);
}
inline model::Status status_of(std::uint64_t word) { return static_cast<model::Status>(word & 3); }
inline std::uint64_t version_of(std::uint64_t word) { return word >> 2; }

struct TaskSlot {
    explicit TaskSlot(TaskVersion* first)
        : word(make_word(first->task.version, first->task.status)),
          current(first),
          key(key_of(first->task)) {}
    ~TaskSlot() { delete current.load(std::memory_order_relaxed); }
    TaskSlot(const TaskSlot&) = delete;
    TaskSlot& operator=(const TaskSlot&) = delete;

    std::atomic<std::uint64_t> word;
    std::atomic<TaskVersion*> current;
    const TaskKey key;
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
    // bytes where an optional<Uuid> took 17, so that the slot is 136 bytes, within malloc's
    // 144-byte chunks (doc/design.md, "Memory per task").
    static constexpr std::uint32_t kNoAgent = UINT32_MAX;
    TaskSlot* next_fixup = nullptr;
    std::uint32_t indexed_agent = kNoAgent;
    model::Status indexed_status = model::Status::pending;
    std::atomic<bool> fixup_queued{false};

    const model::Task& task() const { return current.load(std::memory_order_acquire)->task; }
};

}  // namespace taskd::store
