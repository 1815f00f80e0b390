// Deferred: the work that a claim, holding the store's lock only shared, leaves for the next
// holder of the exclusive lock.
//
// - Fix-ups: a claim cannot move its task in the ordered sets (Indices), which change only under
//   the exclusive lock; it queues the slot here, once, and the next exclusive holder moves it.
// - Retired versions: a change publishes a new TaskVersion and retires the old one, which a
//   reader under the shared lock may still be reading. Retired versions are freed only under
//   the exclusive lock (no reader can be looking then), and not while a snapshot that points at
//   them is being written (hold()).
//
// Fix-ups are a lock-free stack: claims push from any thread at once. Retired versions go into
// a vector under a mutex of their own, held for a push_back (claims already queue on the
// journal's mutex to append): a link in every version would cost 8 bytes a task (a 64-byte
// VersionPool cell, not 56).
// take_fixups() and reclaim() run under the exclusive lock.
#pragma once

#include "store/task_slot.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace taskd::store {

class Deferred {
public:
    Deferred() = default;
    Deferred(const Deferred&) = delete;
    Deferred& operator=(const Deferred&) = delete;
    // No reader is left: every retired version goes (slots free their current ones).
    ~Deferred() { free_all(); }

    // Any thread, under the store's lock shared or exclusive.
    void queue_fixup(TaskSlot* slot) {
        if (!slot->fixup_queued.exchange(true, std::memory_order_acq_rel)) push(fixups_, slot, &TaskSlot::next_fixup);
    }
    bool fixups_pending() const { return fixups_.load(std::memory_order_acquire) != nullptr; }
    void retire(TaskVersion* version) {
        std::lock_guard lock(retired_mutex_);
        retired_.push_back(version);
    }

    // Exclusive lock only. Calls `fix(slot)` for every slot queued since the last call.
    template <class F>
    void take_fixups(F&& fix) {
        TaskSlot* slot = fixups_.exchange(nullptr, std::memory_order_acquire);
        while (slot) {
            TaskSlot* next = slot->next_fixup;
            slot->fixup_queued.store(false, std::memory_order_relaxed);
            fix(slot);
            slot = next;
        }
    }
    // Exclusive lock only: frees the retired versions, unless a snapshot holds them.
    void reclaim() {
        if (held()) return;
        free_all();
    }
    // While the returned handle lives, reclaim() frees nothing (a snapshot is being written
    // from versions that may be retired meanwhile), and held() is true: the store keeps the
    // slots it erases meanwhile too (TaskTable::erase).
    bool held() const { return holds_.load(std::memory_order_acquire) > 0; }
    std::shared_ptr<void> hold() {
        holds_.fetch_add(1, std::memory_order_acq_rel);
        return std::shared_ptr<void>(nullptr, [this](void*) { holds_.fetch_sub(1, std::memory_order_acq_rel); });
    }

private:
    template <class Node, class Next>
    static void push(std::atomic<Node*>& head, Node* node, Next Node::*next) {
        Node* old = head.load(std::memory_order_relaxed);
        do {
            node->*next = old;
        } while (!head.compare_exchange_weak(old, node, std::memory_order_release, std::memory_order_relaxed));
    }
    void free_all() {
        std::lock_guard lock(retired_mutex_);
        for (TaskVersion* v : retired_) delete v;
        retired_.clear();
        // A burst of claims between two exclusive holders may have grown it far.
        if (retired_.capacity() > 4096) retired_.shrink_to_fit();
    }

    std::atomic<TaskSlot*> fixups_{nullptr};
    std::mutex retired_mutex_;
    std::vector<TaskVersion*> retired_;
    std::atomic<int> holds_{0};
};

}  // namespace taskd::store
