// ClaimQueue: the pending tasks of one tenant (or of all tenants, for shared agents), oldest
// first, popped by many claimers at once without a lock.
//
// An array of slots and two atomic indices: claimers take the next index with one fetch_add
// (the cheapest operation two cores can share: see BENCHMARKS.md), then race for the task with
// a compare-and-swap on its state word (TaskSlot). Entries whose task is no longer pending —
// claimed through the other queue, cancelled, finished — are skipped; each is passed over once.
// A pop writes nothing but head_: the only other line a claim writes is its own task's word.
//
// Thread-safety: pop() may run on any number of threads that hold the store's lock shared (or
// exclusively). Everything else changes the array and runs only under the exclusive lock, so
// pop() never sees the array move.
//
// Order: (created_at, id), as the store's indices. Tasks are pushed as they are created, so a
// push is nearly always an append. A task that comes back to pending (lease expiry, a re-queue)
// is put back at its place by created_at: usually just before the next index to pop, which is
// O(1) (the slots before it are spent).
// Invariant: the entries not yet popped are in (created_at, id) order and name distinct tasks.
#pragma once

#include "store/task_slot.hpp"

#include <atomic>
#include <cstdint>
#include <vector>

namespace taskd::store {

class ClaimQueue {
public:
    // The next entry, or nullptr when the queue is empty. May return a slot whose task is no
    // longer pending: the caller checks its word.
    TaskSlot* pop() {
        // One read-modify-write of the one contended line: claimers that find the queue empty
        // leave head_ past the end, and the next push() clamps it back.
        const std::uint64_t i = head_.fetch_add(1, std::memory_order_relaxed);
        if (i >= size_.load(std::memory_order_acquire)) return nullptr;
        return items_[i];
    }

    // Whether a pop() may find an entry: reads, never writes, the contended word, so that a
    // claim can pass an empty queue by (ClaimQueues) without taking a line from other claims.
    bool has_waiting() const {
        return head_.load(std::memory_order_relaxed) < size_.load(std::memory_order_acquire);
    }

    // --- exclusive lock only ---
    void push(TaskSlot* slot);
    // Puts a task that is pending again back at its place by created_at, unless its entry is
    // still waiting there (found by binary search: the waiting entries are in order).
    void put_back(TaskSlot* slot);
    std::uint64_t waiting() const;  // entries not yet popped (some may be stale)
    // Gives back the array's memory when it is mostly spent or empty: a queue keeps the size of
    // its longest backlog otherwise (8 bytes a task, for every task it ever held at once).
    void trim();
    // Drops the entries not yet popped for which `drop(slot)` is true, and the spent ones.
    template <class Pred>
    void remove_if(Pred drop) {
        clamp();
        const auto head = static_cast<std::ptrdiff_t>(head_.load(std::memory_order_relaxed));
        items_.erase(items_.begin(), items_.begin() + head);
        std::erase_if(items_, drop);
        head_.store(0, std::memory_order_relaxed);
        size_.store(items_.size(), std::memory_order_release);
    }
    void clear();

private:
    void clamp();
    void compact();

    // head_ has a cache line of its own: every claim writes it, and the array and size_, which
    // claims only read, must not be invalidated with it.
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::atomic<std::uint64_t> size_{0};
    std::vector<TaskSlot*> items_;
};

}  // namespace taskd::store
