// Delays: pending tasks that wait for their not_before (issue 23), earliest first.
//
// A delayed task is in no claim queue until its time; then the store moves it there
// (Store::release_due), at the first of: the server's timer for the earliest time
// (server/delay_timer), or a claim that finds that time passed (next_due_us(), read without the
// lock), so that a task is claimable from its time on even when the timer is late, and never
// before.
//
// Entries name tasks by id: a delayed task may be cancelled and purged before its time. An
// entry whose task is gone, no longer pending or no longer delayed (re-queued: claimable at
// once) is dropped when due.
//
// Thread-safety: none of its own; changes under the store's exclusive lock. next_due_us() from
// any thread.
#pragma once

#include "model/uuid.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace taskd::store {

class Delays {
public:
    static constexpr std::int64_t kNever = INT64_MAX;

    void add(std::int64_t due_us, const model::Uuid& task) {
        heap_.push(Entry{due_us, task});
        publish();
    }
    // The earliest entry due at or before `now_us`, taken out; nullopt when none.
    std::optional<model::Uuid> take_due(std::int64_t now_us) {
        if (heap_.empty() || heap_.top().due_us > now_us) return std::nullopt;
        const model::Uuid id = heap_.top().task;
        heap_.pop();
        publish();
        return id;
    }
    // When the earliest entry is due (kNever: none).
    std::int64_t next_due_us() const { return next_due_.load(std::memory_order_acquire); }
    std::size_t size() const { return heap_.size(); }
    void clear() {
        heap_ = {};
        publish();
    }

private:
    struct Entry {
        std::int64_t due_us;
        model::Uuid task;
        friend bool operator>(const Entry& a, const Entry& b) { return a.due_us > b.due_us; }
    };
    void publish() { next_due_.store(heap_.empty() ? kNever : heap_.top().due_us, std::memory_order_release); }

    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
    std::atomic<std::int64_t> next_due_{kNever};
};

}  // namespace taskd::store
