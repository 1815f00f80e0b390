// Leases: when the lease of each running task ends, earliest first, for the expiry pass.
//
// An entry names a task's version: a heartbeat or a finish makes a new version, so an entry
// whose task has changed since is stale and passed over; they are dropped in bulk (compact())
// once they are most of the heap, which is cheaper than finding each one when it goes stale.
//
// Thread-safety: none of its own; used under the store's exclusive lock.
#pragma once

#include "model/task.hpp"
#include "model/uuid.hpp"
#include "store/indices.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace taskd::store {

class Leases {
public:
    struct Lease {
        std::int64_t deadline_us;
        model::Uuid task;
        std::uint64_t version;  // the lease belongs to this version; a later one makes it stale
        friend bool operator>(const Lease& a, const Lease& b) { return a.deadline_us > b.deadline_us; }
    };

    // A running task's lease, from this version on.
    void track(const TaskSlot& slot, const TaskVersion& v) {
        if (v.status == model::Status::running && v.lease_expires_us != TaskVersion::kNoLease)
            heap_.push(Lease{v.lease_expires_us, slot.key.id, v.version});
    }
    // The earliest entry whose deadline is at or before `now_us`, taken out; nullopt when none.
    std::optional<Lease> take_due(std::int64_t now_us) {
        if (heap_.empty() || heap_.top().deadline_us > now_us) return std::nullopt;
        Lease due = heap_.top();
        heap_.pop();
        return due;
    }
    // Rebuilt from the running tasks when stale entries are most of the heap.
    void compact(const StatusSet& running) {
        if (heap_.size() <= 4 * running.size() + 1024) return;
        decltype(heap_) fresh;
        heap_.swap(fresh);
        for (const TaskSlot& slot : running) track(slot, slot.state());
    }

private:
    std::priority_queue<Lease, std::vector<Lease>, std::greater<>> heap_;
};

}  // namespace taskd::store
