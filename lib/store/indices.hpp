// Indices: the store's ordered views of its tasks, and the claim queues, by status, tenant and
// agent. Listings read them; the store's commands keep them where each task's state says.
//
// Membership is intrusive (Boost.Intrusive): a task's TaskSlot carries one red-black hook per
// ordered set it can be in (its status across tenants, its status within its tenant, its
// agent's tasks), so joining or leaving a set allocates nothing. The std::pmr::set nodes this
// replaced cost 48 bytes each and a task sat in four or five of them; three hooks cost 72
// (doc/design.md, "Memory per task"). There is no set of all tasks, nor of a tenant's: a
// listing without a status merges the four status sets (Cursor), newest first.
//
// Order: (created_at, id), ascending; tasks arrive nearly always in that order (creates,
// snapshots, the journal), so inserts go in with an end() hint.
//
// Thread-safety: none of its own. Everything but the queues' pop() (ClaimQueue) changes under
// the store's exclusive lock.
#pragma once

#include "model/status.hpp"
#include "store/claim_queues.hpp"
#include "store/task_key.hpp"
#include "store/task_slot.hpp"

#include <boost/intrusive/set.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace taskd::store {

struct ByKey {
    bool operator()(const TaskSlot& a, const TaskSlot& b) const { return a.key < b.key; }
    bool operator()(const TaskSlot& a, const TaskKey& b) const { return a.key < b; }
    bool operator()(const TaskKey& a, const TaskSlot& b) const { return a < b.key; }
};

template <TaskSlot::Hook TaskSlot::*member>
using SlotSet = boost::intrusive::set<TaskSlot, boost::intrusive::member_hook<TaskSlot, TaskSlot::Hook, member>,
                                      boost::intrusive::compare<ByKey>, boost::intrusive::constant_time_size<true>>;
using StatusSet = SlotSet<&TaskSlot::status_hook>;
using TenantStatusSet = SlotSet<&TaskSlot::tenant_status_hook>;
using AgentSet = SlotSet<&TaskSlot::agent_hook>;

inline std::size_t slot_of(model::Status s) { return static_cast<std::size_t>(s); }

struct TenantIndex {
    std::array<TenantStatusSet, 4> by_status;
    ClaimQueues queues;  // its claimable tasks (a delayed one from its time on)

    std::size_t size() const {
        std::size_t n = 0;
        for (const auto& s : by_status) n += s.size();
        return n;
    }
};

// Which tasks a listing walks, newest first: one set, or the four status sets of the store or
// of a tenant merged. Valid while the indices do not change (under the store's shared lock).
class Cursor {
public:
    // Up to four sets; `after` (exclusive) where to start, newest first.
    template <class Set>
    void add(const Set& set, const std::optional<TaskKey>& after) {
        auto it = after ? set.lower_bound(*after, ByKey{}) : set.end();
        if (it != set.begin()) ways_[n_++] = Way{&*std::prev(it), [](const TaskSlot* s, const void* owner) -> const TaskSlot* {
            const Set& of = *static_cast<const Set*>(owner);
            auto at = of.iterator_to(*s);
            return at == of.begin() ? nullptr : &*std::prev(at);
        }, &set};
    }
    // The next slot, newest first; nullptr at the end.
    const TaskSlot* next() {
        std::size_t best = n_;
        for (std::size_t i = 0; i < n_; ++i)
            if (ways_[i].at && (best == n_ || ways_[best].at->key < ways_[i].at->key)) best = i;
        if (best == n_) return nullptr;
        const TaskSlot* out = ways_[best].at;
        ways_[best].at = ways_[best].before(out, ways_[best].owner);
        return out;
    }

private:
    struct Way {
        const TaskSlot* at = nullptr;
        const TaskSlot* (*before)(const TaskSlot*, const void*) = nullptr;
        const void* owner = nullptr;
    };
    std::array<Way, 4> ways_{};
    std::size_t n_ = 0;
};

class Indices {
public:
    Indices() = default;
    Indices(const Indices&) = delete;
    Indices& operator=(const Indices&) = delete;

    // A new slot into the sets its status and agent name.
    void add(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent);
    // Out of every set (the slot is about to be erased).
    void remove(TaskSlot* slot);
    // An indexed slot to its new status and agent.
    void move(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent);

    // Claim queues. `put_back`: a task pending again, at its place by created_at. Nothing is
    // queued while the queues are stale (a replay): rebuild_queues() builds them whole, from
    // the pending tasks for which `claimable(slot)` is true (the others wait for their time).
    void enqueue(TaskSlot* slot, bool put_back);
    template <class F>
    void rebuild_queues(F&& claimable) {
        shared_queues_.clear();
        for (auto& [id, t] : by_tenant_) t->queues.clear();
        queues_stale_.store(false, std::memory_order_relaxed);
        for (TaskSlot& slot : by_status_[slot_of(model::Status::pending)])
            if (claimable(&slot)) enqueue(&slot, false);
    }
    // Shared agents claim the oldest task of any tenant (one queue across tenants: true, the
    // default) or in turn from each tenant with claimable tasks (false: --shared-claim-order
    // fair). Set before the first task.
    void set_shared_queue(bool kept) { shared_kept_ = kept; }
    void mark_queues_stale() { queues_stale_.store(true, std::memory_order_relaxed); }
    // Read by claims under the shared lock: then they take the exclusive one to rebuild.
    bool queues_stale() const { return queues_stale_.load(std::memory_order_relaxed); }
    ClaimQueues& shared_queues() { return shared_queues_; }
    ClaimQueues* tenant_queues(const Uuid& tenant);  // nullptr: no such tenant (yet)
    // For a shared agent in fair order: the next entry of the next tenant in turn that has one
    // (may be stale, as ClaimQueues::pop's). Any thread, under the lock shared.
    TaskSlot* pop_in_turn() {
        const std::size_t n = tenants_in_turn_.size();
        if (n == 0) return nullptr;
        const std::uint64_t start = next_in_turn_.fetch_add(1, std::memory_order_relaxed);
        for (std::size_t i = 0; i < n; ++i)
            if (TaskSlot* slot = tenants_in_turn_[(start + i) % n]->queues.pop()) return slot;
        return nullptr;
    }
    // Drops queue entries of tasks no longer pending; always before a pending task is erased...
    void sweep_queues();
    // ...and when a queue holds many more entries than pending tasks, which stale entries of
    // tasks claimed through the other queue make it (the shared one, with no shared agent).
    // Either way, queues give back the memory of a backlog that has been claimed.
    void sweep_queues_if_bloated();

    const StatusSet& by_status(model::Status s) const { return by_status_[slot_of(s)]; }
    std::size_t count(model::Status s) const { return by_status_[slot_of(s)].size(); }
    // nullptr when the tenant has no index (never had a task).
    const TenantIndex* tenant(const Uuid& id) const;
    template <class F>
    void for_each_tenant(F&& f) const {
        for (const auto& [id, t] : by_tenant_) f(id, *t);
    }
    const AgentSet* agent(const Uuid& id) const;
    AgentSet* agent(const Uuid& id);
    // The agent whose set holds `slot`, if any.
    std::optional<Uuid> indexed_agent(const TaskSlot& slot) const;

    // Sets up `cursor` over what a listing with these filters walks, narrowest first: an
    // agent's tasks, a tenant's (by status), a status, all.
    void walk(Cursor& cursor, const std::optional<Uuid>& tenant, const std::optional<model::Status>& status,
              const std::optional<Uuid>& agent, const std::optional<TaskKey>& after) const;

private:
    TenantIndex& tenant_of(const Uuid& id);
    void join_agent(TaskSlot* slot, const Uuid& agent, bool newest);
    void leave_agent(TaskSlot* slot);

    std::array<StatusSet, 4> by_status_;
    // Tenant indices are never dropped: their queues may be popped under the shared lock.
    std::unordered_map<Uuid, std::unique_ptr<TenantIndex>, UuidHash> by_tenant_;
    // Agents' sets by number (a deque: a set never moves), the numbers by agent, and numbers
    // of emptied sets to give again. A slot names its agent's set by number (TaskSlot).
    struct AgentTasks {
        Uuid id{};
        AgentSet tasks;
    };
    std::deque<AgentTasks> agents_;
    std::unordered_map<Uuid, std::uint32_t, UuidHash> agent_numbers_;
    std::vector<std::uint32_t> free_agent_numbers_;
    ClaimQueues shared_queues_;
    bool shared_kept_ = true;
    // Every tenant index, in the order made: a fair claim starts at the next one in turn. The
    // turn counter is written by every fair claim; it has its own line.
    std::vector<TenantIndex*> tenants_in_turn_;
    alignas(64) std::atomic<std::uint64_t> next_in_turn_{0};
    std::atomic<bool> queues_stale_{false};
};

}  // namespace taskd::store
