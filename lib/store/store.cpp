#include "store/store.hpp"

#include <algorithm>
#include <mutex>

namespace taskd::store {

using model::Status;
using model::Task;

void Store::index_insert(const Task& t) {
    const TaskKey key = key_of(t);
    all_.insert(all_.end(), key);
    by_status_[slot(t.status)].insert(key);
    TenantIndex& tenant = by_tenant_[t.tenant_id];
    tenant.all.insert(key);
    tenant.by_status[slot(t.status)].insert(key);
    if (t.agent_id) by_agent_[*t.agent_id].insert(key);
}

void Store::index_erase(const Task& t) {
    const TaskKey key = key_of(t);
    all_.erase(key);
    by_status_[slot(t.status)].erase(key);
    TenantIndex& tenant = by_tenant_[t.tenant_id];
    tenant.all.erase(key);
    tenant.by_status[slot(t.status)].erase(key);
    if (t.agent_id) {
        auto it = by_agent_.find(*t.agent_id);
        if (it != by_agent_.end()) {
            it->second.erase(key);
            if (it->second.empty()) by_agent_.erase(it);
        }
    }
}

Task Store::create_task(NewTask input) {
    std::unique_lock lock(mutex_);
    Task t;
    t.id = model::random_uuid();
    t.tenant_id = input.tenant_id;
    t.type = std::move(input.type);
    t.payload = std::move(input.payload);
    t.created_at = t.updated_at = clock_.now();
    t.max_attempts = input.max_attempts;
    t.lease_seconds = input.lease_seconds;
    index_insert(t);
    tasks_.emplace(t.id, t);
    return t;
}

std::optional<Task> Store::find_task(const Uuid& id) const {
    std::shared_lock lock(mutex_);
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return std::nullopt;
    return it->second;
}

model::Result<Task> Store::patch_task(const Uuid& id, const model::Patch& patch,
                                      const std::optional<model::Agent>& agent) {
    std::unique_lock lock(mutex_);
    auto it = tasks_.find(id);
    if (it == tasks_.end() || (agent && !model::in_scope(*agent, it->second.tenant_id)))
        return model::make_error(model::Errc::not_found, "Task " + model::to_string(id) + " not found");
    Task& t = it->second;
    Task before = t;
    const auto actor = agent ? model::Actor::make_agent(agent->id) : model::Actor::make_admin();
    if (auto applied = model::apply_patch(t, patch, actor, clock_.now()); !applied) return applied.error();
    if (before.status != t.status || before.agent_id != t.agent_id) {
        index_erase(before);
        index_insert(t);
    }
    return t;
}

model::Result<std::optional<Task>> Store::claim(const model::Agent& agent) {
    std::unique_lock lock(mutex_);
    if (!agents_.contains(agent.id)) return model::make_error(model::Errc::unauthorized, "Invalid agent credentials");
    const KeySet* pending = &by_status_[slot(Status::pending)];
    if (agent.tenant_id) {
        auto tenant = by_tenant_.find(*agent.tenant_id);
        if (tenant == by_tenant_.end()) return std::optional<Task>{};
        pending = &tenant->second.by_status[slot(Status::pending)];
    }
    if (pending->empty()) return std::optional<Task>{};
    Task& t = tasks_.find(pending->begin()->id)->second;
    index_erase(t);
    model::apply_claim(t, agent.id, clock_.now());
    index_insert(t);
    return std::optional<Task>{t};
}

const Store::KeySet& Store::narrowest_index(const TaskFilter& filter) const {
    // An agent's tasks are usually the fewest; then a tenant's by status, a tenant's, a status.
    if (filter.agent_id) {
        auto it = by_agent_.find(*filter.agent_id);
        return it == by_agent_.end() ? empty_ : it->second;
    }
    if (filter.tenant_id) {
        auto it = by_tenant_.find(*filter.tenant_id);
        if (it == by_tenant_.end()) return empty_;
        return filter.status ? it->second.by_status[slot(*filter.status)] : it->second.all;
    }
    if (filter.status) return by_status_[slot(*filter.status)];
    return all_;
}

bool Store::matches(const Task& t, const TaskFilter& filter) {
    return (!filter.tenant_id || t.tenant_id == *filter.tenant_id) && (!filter.status || t.status == *filter.status) &&
           (!filter.agent_id || t.agent_id == filter.agent_id) && (!filter.type || t.type == *filter.type);
}

bool Store::list_tasks(const TaskFilter& filter, const std::optional<TaskKey>& after, std::size_t limit,
                       const std::function<void(const Task&)>& visit) const {
    std::shared_lock lock(mutex_);
    const KeySet& index = narrowest_index(filter);
    // Newest first: walk the ascending set backwards from just below `after`.
    auto it = after ? index.lower_bound(*after) : index.end();
    std::size_t visited = 0;
    while (it != index.begin()) {
        --it;
        const Task& t = tasks_.find(it->id)->second;
        if (!matches(t, filter)) continue;
        if (visited == limit) return true;
        visit(t);
        ++visited;
    }
    return false;
}

std::size_t Store::task_count() const {
    std::shared_lock lock(mutex_);
    return tasks_.size();
}

std::array<std::size_t, 4> Store::task_count_by_status() const {
    std::shared_lock lock(mutex_);
    std::array<std::size_t, 4> counts{};
    for (Status s : model::kAllStatuses) counts[slot(s)] = by_status_[slot(s)].size();
    return counts;
}

model::Agent Store::snapshot(const AgentEntry& entry) const {
    model::Agent a = entry.agent;
    if (const auto us = entry.last_seen_us.load(std::memory_order_relaxed); us != 0) a.last_seen_at = model::from_micros(us);
    return a;
}

model::Agent Store::register_agent(std::string name, std::optional<Uuid> tenant_id,
                                   const model::TokenHash& token_hash) {
    std::unique_lock lock(mutex_);
    auto entry = std::make_unique<AgentEntry>();
    entry->agent.id = model::random_uuid();
    entry->agent.name = std::move(name);
    entry->agent.tenant_id = tenant_id;
    entry->agent.token_hash = token_hash;
    entry->agent.created_at = clock_.now();
    model::Agent result = entry->agent;
    agent_by_token_.emplace(token_hash, result.id);
    agents_.emplace(result.id, std::move(entry));
    return result;
}

std::optional<model::Agent> Store::find_agent(const Uuid& id) const {
    std::shared_lock lock(mutex_);
    auto it = agents_.find(id);
    if (it == agents_.end()) return std::nullopt;
    return snapshot(*it->second);
}

std::vector<model::Agent> Store::list_agents() const {
    std::vector<model::Agent> out;
    {
        std::shared_lock lock(mutex_);
        out.reserve(agents_.size());
        for (const auto& [id, entry] : agents_) out.push_back(snapshot(*entry));
    }
    std::sort(out.begin(), out.end(), [](const model::Agent& a, const model::Agent& b) {
        return std::tie(a.created_at, a.id) > std::tie(b.created_at, b.id);
    });
    return out;
}

std::optional<model::Agent> Store::authenticate_agent(const model::TokenHash& token_hash) {
    std::shared_lock lock(mutex_);
    auto by_token = agent_by_token_.find(token_hash);
    if (by_token == agent_by_token_.end()) return std::nullopt;
    AgentEntry& entry = *agents_.find(by_token->second)->second;
    const std::int64_t now = model::to_micros(clock_.now());
    // Only move forward: two requests of one agent may finish in either order.
    std::int64_t seen = entry.last_seen_us.load(std::memory_order_relaxed);
    while (seen < now && !entry.last_seen_us.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
    return snapshot(entry);
}

model::Result<void> Store::delete_agent(const Uuid& id) {
    std::unique_lock lock(mutex_);
    auto it = agents_.find(id);
    if (it == agents_.end())
        return model::make_error(model::Errc::not_found, "Agent " + model::to_string(id) + " not found");
    agent_by_token_.erase(it->second->agent.token_hash);
    agents_.erase(it);

    auto held = by_agent_.find(id);
    if (held == by_agent_.end()) return {};
    std::vector<Uuid> running;
    for (const TaskKey& key : held->second)
        if (tasks_.find(key.id)->second.status == Status::running) running.push_back(key.id);
    const auto now = clock_.now();
    for (const Uuid& task_id : running) {
        Task& t = tasks_.find(task_id)->second;
        index_erase(t);
        model::apply_release(t, "agent deleted", now);
        index_insert(t);
    }
    return {};
}

}  // namespace taskd::store
