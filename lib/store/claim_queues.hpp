// ClaimQueues: the claimable tasks of one tenant (or of all tenants, for shared agents), one
// ClaimQueue per priority, popped highest priority first.
//
// A queue is made the first time a task of its priority comes: a fleet that uses one priority
// (most do: 5, the default) has one queue, and a claim looks past the empty higher ones by
// reading two words each, never writing them (ClaimQueue::has_waiting), so that tasks that use
// no priority claim as fast as before (doc/design.md, "Scheduling").
//
// Order across priorities holds between claims that do not overlap; two claims at once may each
// take the head of a different priority, as two claims at once may take two tasks of one queue
// in either order. Exactly-once does not depend on it (the slot's word does that).
//
// Thread-safety: pop() under the store's lock shared or exclusive; everything else under the
// exclusive lock (a queue is never made or dropped while a claim may read the array).
#pragma once

#include "model/schedule.hpp"
#include "store/claim_queue.hpp"

#include <array>
#include <memory>

namespace taskd::store {

class ClaimQueues {
public:
    // The next entry of the highest priority that has one; nullptr when every queue is empty.
    // May return a slot whose task is no longer pending: the caller checks its word.
    TaskSlot* pop() {
        for (int p = model::kMaxPriority; p >= 0; --p) {
            ClaimQueue* queue = queues_[static_cast<std::size_t>(p)].get();
            if (!queue || !queue->has_waiting()) continue;
            if (TaskSlot* slot = queue->pop()) return slot;
        }
        return nullptr;
    }

    // --- exclusive lock only ---
    void push(TaskSlot* slot) { of(slot->priority).push(slot); }
    void put_back(TaskSlot* slot) { of(slot->priority).put_back(slot); }
    std::uint64_t waiting() const {
        std::uint64_t n = 0;
        for (const auto& q : queues_)
            if (q) n += q->waiting();
        return n;
    }
    void trim() {
        for (auto& q : queues_)
            if (q) q->trim();
    }
    template <class Pred>
    void remove_if(Pred drop) {
        for (auto& q : queues_)
            if (q) q->remove_if(drop);
    }
    void clear() {
        for (auto& q : queues_)
            if (q) q->clear();
    }

private:
    ClaimQueue& of(std::uint8_t priority) {
        auto& queue = queues_[priority];
        if (!queue) queue = std::make_unique<ClaimQueue>();
        return *queue;
    }

    std::array<std::unique_ptr<ClaimQueue>, model::kMaxPriority + 1> queues_;
};

}  // namespace taskd::store
