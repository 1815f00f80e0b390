#include "store/indices.hpp"

namespace taskd::store {

using model::Status;

TenantIndex& Indices::tenant_of(const Uuid& id) {
    auto& entry = by_tenant_[id];
    if (!entry) {
        entry = std::make_unique<TenantIndex>();
        tenants_in_turn_.push_back(entry.get());
    }
    return *entry;
}

const TenantIndex* Indices::tenant(const Uuid& id) const {
    auto it = by_tenant_.find(id);
    return it == by_tenant_.end() ? nullptr : it->second.get();
}

ClaimQueues* Indices::tenant_queues(const Uuid& tenant) {
    auto it = by_tenant_.find(tenant);
    return it == by_tenant_.end() ? nullptr : &it->second->queues;
}

const AgentSet* Indices::agent(const Uuid& id) const {
    auto it = agent_numbers_.find(id);
    return it == agent_numbers_.end() ? nullptr : &agents_[it->second].tasks;
}

AgentSet* Indices::agent(const Uuid& id) {
    auto it = agent_numbers_.find(id);
    return it == agent_numbers_.end() ? nullptr : &agents_[it->second].tasks;
}

std::optional<Uuid> Indices::indexed_agent(const TaskSlot& slot) const {
    if (slot.indexed_agent == TaskSlot::kNoAgent) return std::nullopt;
    return agents_[slot.indexed_agent].id;
}

void Indices::join_agent(TaskSlot* slot, const Uuid& agent, bool newest) {
    auto [it, fresh] = agent_numbers_.try_emplace(agent, 0);
    if (fresh) {
        if (free_agent_numbers_.empty()) {
            it->second = static_cast<std::uint32_t>(agents_.size());
            agents_.emplace_back();
        } else {
            it->second = free_agent_numbers_.back();
            free_agent_numbers_.pop_back();
        }
        agents_[it->second].id = agent;
    }
    AgentSet& of = agents_[it->second].tasks;
    if (newest) of.insert(of.end(), *slot);
    else of.insert(*slot);
    slot->indexed_agent = it->second;
}

void Indices::leave_agent(TaskSlot* slot) {
    if (slot->indexed_agent == TaskSlot::kNoAgent) return;
    AgentTasks& of = agents_[slot->indexed_agent];
    of.tasks.erase(of.tasks.iterator_to(*slot));
    if (of.tasks.empty()) {
        agent_numbers_.erase(of.id);
        free_agent_numbers_.push_back(slot->indexed_agent);
    }
    slot->indexed_agent = TaskSlot::kNoAgent;
}

// Slots go in with an end() hint: tasks arrive in created_at order (creates, recovery,
// snapshots), which makes the insert O(1); out of order it costs the usual O(log n).
void Indices::add(TaskSlot* slot, Status status, const std::optional<Uuid>& agent) {
    TenantIndex& t = tenant_of(slot->tenant_id);
    by_status_[slot_of(status)].insert(by_status_[slot_of(status)].end(), *slot);
    t.by_status[slot_of(status)].insert(t.by_status[slot_of(status)].end(), *slot);
    slot->indexed_status = status;
    if (agent) join_agent(slot, *agent, true);
    else slot->indexed_agent = TaskSlot::kNoAgent;
}

void Indices::remove(TaskSlot* slot) {
    TenantIndex& t = tenant_of(slot->tenant_id);
    by_status_[slot_of(slot->indexed_status)].erase(by_status_[slot_of(slot->indexed_status)].iterator_to(*slot));
    t.by_status[slot_of(slot->indexed_status)].erase(t.by_status[slot_of(slot->indexed_status)].iterator_to(*slot));
    leave_agent(slot);
}

void Indices::move(TaskSlot* slot, Status status, const std::optional<Uuid>& agent) {
    if (status != slot->indexed_status) {
        TenantIndex& t = tenant_of(slot->tenant_id);
        StatusSet& from = by_status_[slot_of(slot->indexed_status)];
        TenantStatusSet& own_from = t.by_status[slot_of(slot->indexed_status)];
        from.erase(from.iterator_to(*slot));
        own_from.erase(own_from.iterator_to(*slot));
        // Not an end() hint: a claimed or finished task is usually older than the newest.
        by_status_[slot_of(status)].insert(*slot);
        t.by_status[slot_of(status)].insert(*slot);
        slot->indexed_status = status;
    }
    if (agent != indexed_agent(*slot)) {
        leave_agent(slot);
        if (agent) join_agent(slot, *agent, false);
    }
}

void Indices::enqueue(TaskSlot* slot, bool put_back) {
    if (queues_stale()) return;  // rebuilt whole later
    ClaimQueues& own = tenant_of(slot->tenant_id).queues;
    if (put_back) {
        own.put_back(slot);
        if (shared_kept_) shared_queues_.put_back(slot);
    } else {
        own.push(slot);
        if (shared_kept_) shared_queues_.push(slot);
    }
}

void Indices::sweep_queues() {
    if (queues_stale()) return;
    // Entries of tasks that are no longer pending are passed over when popped; dropping them
    // here keeps queues from growing with them (a queue no one pops, the shared one when
    // there is no shared agent, would keep every task), and makes sure no entry outlives
    // its slot when finished tasks are erased.
    auto stale = [](const TaskSlot* s) { return status_of(s->word.load(std::memory_order_relaxed)) != Status::pending; };
    shared_queues_.remove_if(stale);
    for (auto& [id, t] : by_tenant_) t->queues.remove_if(stale);
}

void Indices::sweep_queues_if_bloated() {
    // Sweeping costs the queue's length, so it is done only once stale entries outnumber the
    // pending tasks.
    const std::size_t pending = count(Status::pending);
    bool bloated = shared_queues_.waiting() > 2 * pending + 1024;
    for (auto& [id, t] : by_tenant_)
        bloated = bloated || t->queues.waiting() > 2 * t->by_status[slot_of(Status::pending)].size() + 1024;
    if (bloated) sweep_queues();
    shared_queues_.trim();
    for (auto& [id, t] : by_tenant_) t->queues.trim();
}

void Indices::walk(Cursor& cursor, const std::optional<Uuid>& tenant, const std::optional<Status>& status,
                   const std::optional<Uuid>& agent, const std::optional<TaskKey>& after) const {
    // An agent's tasks are usually the fewest; then a tenant's by status, a tenant's, a status.
    if (agent) {
        if (const AgentSet* of = this->agent(*agent)) cursor.add(*of, after);
        return;
    }
    if (tenant) {
        const TenantIndex* t = this->tenant(*tenant);
        if (!t) return;
        if (status) return cursor.add(t->by_status[slot_of(*status)], after);
        for (const auto& set : t->by_status) cursor.add(set, after);
        return;
    }
    if (status) return cursor.add(by_status_[slot_of(*status)], after);
    for (const auto& set : by_status_) cursor.add(set, after);
}

}  // namespace taskd::store
