#include "store/store.hpp"

#include <algorithm>
#include <mutex>

namespace taskd::store {

using journal::RecordType;
using model::Status;
using model::Task;

namespace {
// last_seen_at is logged at most this often per agent: a hint, not worth a record per request.
constexpr std::int64_t kSeenLogIntervalMicros = 1'000'000;
}  // namespace

// Keys are inserted with an end() hint: tasks arrive in created_at order (creates, recovery,
// snapshots), which makes the insert O(1); out of order it costs the usual O(log n).
void Store::index_insert(const Task& t) {
    const TaskKey key = key_of(t);
    all_.insert(all_.end(), key);
    auto& by_status = by_status_[slot(t.status)];
    by_status.insert(by_status.end(), key);
    TenantIndex& tenant = by_tenant_.try_emplace(t.tenant_id, &pool_).first->second;
    tenant.all.insert(tenant.all.end(), key);
    tenant.by_status[slot(t.status)].insert(tenant.by_status[slot(t.status)].end(), key);
    if (t.agent_id) agent_index(*t.agent_id).insert(key);
}

Store::KeySet& Store::agent_index(const Uuid& agent) {
    return by_agent_.try_emplace(agent, &pool_).first->second;
}

void Store::insert_task(TaskPtr task) {
    index_insert(*task);
    tasks_.emplace(task->id, std::move(task));
}

void Store::erase_task(const Uuid& id) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return;
    index_erase(*it->second);
    tasks_.erase(it);
}

void Store::index_erase(const Task& t) {
    const TaskKey key = key_of(t);
    all_.erase(key);
    by_status_[slot(t.status)].erase(key);
    auto tenant = by_tenant_.find(t.tenant_id);
    if (tenant != by_tenant_.end()) {
        tenant->second.all.erase(key);
        tenant->second.by_status[slot(t.status)].erase(key);
        if (tenant->second.all.empty()) by_tenant_.erase(tenant);
    }
    if (t.agent_id) {
        auto it = by_agent_.find(*t.agent_id);
        if (it != by_agent_.end()) {
            it->second.erase(key);
            if (it->second.empty()) by_agent_.erase(it);
        }
    }
}

void Store::replace_task(TaskPtr& stored, Task changed) {
    const bool reindex = stored->status != changed.status || stored->agent_id != changed.agent_id;
    if (reindex) index_erase(*stored);
    stored = std::make_shared<const Task>(std::move(changed));
    if (reindex) index_insert(*stored);
}

model::Result<void> Store::check_log() const {
    if (log_.healthy()) return {};
    return model::make_error(model::Errc::journal_failed,
                             "Changes are refused: the journal failed (" + log_.failure() + ") and taskd must be restarted");
}

model::Result<Committed<Task>> Store::create_task(NewTask input) {
    std::unique_lock lock(mutex_);
    if (auto ok = check_log(); !ok) return ok.error();
    Task t;
    t.id = model::random_uuid();
    t.tenant_id = input.tenant_id;
    t.type = std::move(input.type);
    t.payload = std::move(input.payload);
    t.created_at = t.updated_at = clock_.now();
    t.max_attempts = input.max_attempts;
    t.lease_seconds = input.lease_seconds;
    const std::uint64_t sequence = log_.append(RecordType::task_created, journal::encode_task_created(t, std::nullopt));
    insert_task(std::make_shared<const Task>(t));
    return Committed<Task>{std::move(t), sequence};
}

std::optional<Task> Store::find_task(const Uuid& id) const {
    std::shared_lock lock(mutex_);
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return std::nullopt;
    return *it->second;
}

model::Result<Committed<Task>> Store::patch_task(const Uuid& id, const model::Patch& patch,
                                                 const std::optional<model::Agent>& agent) {
    std::unique_lock lock(mutex_);
    auto it = tasks_.find(id);
    if (it == tasks_.end() || (agent && !model::in_scope(*agent, it->second->tenant_id)))
        return model::make_error(model::Errc::not_found, "Task " + model::to_string(id) + " not found");
    Task changed = *it->second;
    const auto actor = agent ? model::Actor::make_agent(agent->id) : model::Actor::make_admin();
    if (auto applied = model::apply_patch(changed, patch, actor, clock_.now()); !applied) return applied.error();
    if (auto ok = check_log(); !ok) return ok.error();
    const std::uint64_t sequence = log_.append(RecordType::task_updated, journal::encode_task_state(changed));
    replace_task(it->second, changed);
    return Committed<Task>{std::move(changed), sequence};
}

model::Result<Committed<std::optional<Task>>> Store::claim(const model::Agent& agent) {
    std::unique_lock lock(mutex_);
    if (!agents_.contains(agent.id)) return model::make_error(model::Errc::unauthorized, "Invalid agent credentials");
    const KeySet* pending = &by_status_[slot(Status::pending)];
    if (agent.tenant_id) {
        auto tenant = by_tenant_.find(*agent.tenant_id);
        if (tenant == by_tenant_.end()) return Committed<std::optional<Task>>{};
        pending = &tenant->second.by_status[slot(Status::pending)];
    }
    if (pending->empty()) return Committed<std::optional<Task>>{};
    if (auto ok = check_log(); !ok) return ok.error();
    TaskPtr& stored = tasks_.find(pending->begin()->id)->second;
    Task changed = *stored;
    model::apply_claim(changed, agent.id, clock_.now());
    const std::uint64_t sequence = log_.append(RecordType::task_claimed, journal::encode_task_state(changed));
    replace_task(stored, changed);
    return Committed<std::optional<Task>>{std::move(changed), sequence};
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
        const Task& t = *tasks_.find(it->id)->second;
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

Committed<std::size_t> Store::purge_finished(model::Timestamp cutoff, std::size_t max) {
    std::unique_lock lock(mutex_);
    if (!log_.healthy()) return {};
    // A task is created before it changes last, so finished tasks created at or after the
    // cutoff cannot be due: each walk stops there.
    const std::int64_t cutoff_us = model::to_micros(cutoff);
    std::vector<Uuid> due;
    for (Status s : {Status::completed, Status::failed}) {
        for (const TaskKey& key : by_status_[slot(s)]) {
            if (key.created_us >= cutoff_us || due.size() == max) break;
            if (tasks_.find(key.id)->second->updated_at < cutoff) due.push_back(key.id);
        }
    }
    if (due.empty()) return {};
    const std::uint64_t sequence = log_.append(RecordType::tasks_purged, journal::encode_tasks_purged(clock_.now(), due));
    for (const Uuid& id : due) erase_task(id);
    return Committed<std::size_t>{due.size(), sequence};
}

model::Agent Store::snapshot(const AgentEntry& entry) const {
    model::Agent a = entry.agent;
    if (const auto us = entry.last_seen_us.load(std::memory_order_relaxed); us != 0) a.last_seen_at = model::from_micros(us);
    return a;
}

model::Result<Committed<model::Agent>> Store::register_agent(std::string name, std::optional<Uuid> tenant_id,
                                                              const model::TokenHash& token_hash) {
    std::unique_lock lock(mutex_);
    if (auto ok = check_log(); !ok) return ok.error();
    auto entry = std::make_unique<AgentEntry>();
    entry->agent.id = model::random_uuid();
    entry->agent.name = std::move(name);
    entry->agent.tenant_id = tenant_id;
    entry->agent.token_hash = token_hash;
    entry->agent.created_at = clock_.now();
    model::Agent result = entry->agent;
    const std::uint64_t sequence = log_.append(RecordType::agent_registered, journal::encode_agent_registered(result));
    agent_by_token_.emplace(token_hash, result.id);
    agents_.emplace(result.id, std::move(entry));
    return Committed<model::Agent>{std::move(result), sequence};
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
    // The value is set before it is logged, so a snapshot that includes the record's sequence
    // number includes the value too. Replay takes the maximum, so order does not matter.
    std::int64_t logged = entry.last_logged_us.load(std::memory_order_relaxed);
    if (now - logged >= kSeenLogIntervalMicros && log_.healthy() &&
        entry.last_logged_us.compare_exchange_strong(logged, now, std::memory_order_relaxed))
        log_.append(RecordType::agent_seen, journal::encode_agent_seen(entry.agent.id, model::from_micros(now)));
    return snapshot(entry);
}

model::Result<Committed<std::size_t>> Store::delete_agent(const Uuid& id) {
    std::unique_lock lock(mutex_);
    auto it = agents_.find(id);
    if (it == agents_.end())
        return model::make_error(model::Errc::not_found, "Agent " + model::to_string(id) + " not found");
    if (auto ok = check_log(); !ok) return ok.error();

    std::vector<Task> released;
    if (auto held = by_agent_.find(id); held != by_agent_.end()) {
        const auto now = clock_.now();
        for (const TaskKey& key : held->second) {
            Task t = *tasks_.find(key.id)->second;
            if (t.status != Status::running) continue;
            model::apply_release(t, "agent deleted", now);
            released.push_back(std::move(t));
        }
    }
    const std::uint64_t sequence =
        log_.append(RecordType::agent_deleted, journal::encode_agent_deleted(id, clock_.now(), released));
    agent_by_token_.erase(it->second->agent.token_hash);
    agents_.erase(it);
    for (Task& t : released) replace_task(tasks_.find(t.id)->second, std::move(t));
    return Committed<std::size_t>{released.size(), sequence};
}

std::uint64_t Store::log_last_seen() {
    std::shared_lock lock(mutex_);
    std::uint64_t sequence = 0;
    if (!log_.healthy()) return 0;
    for (auto& [id, entry] : agents_) {
        const std::int64_t seen = entry->last_seen_us.load(std::memory_order_relaxed);
        std::int64_t logged = entry->last_logged_us.load(std::memory_order_relaxed);
        if (seen > logged && entry->last_logged_us.compare_exchange_strong(logged, seen, std::memory_order_relaxed))
            sequence = log_.append(RecordType::agent_seen, journal::encode_agent_seen(id, model::from_micros(seen)));
    }
    return sequence;
}

// --- durability ---

void Store::apply_state(const journal::TaskState& state) {
    auto it = tasks_.find(state.id);
    // A state no newer than the task's is already in it (or superseded): replay is idempotent.
    if (it == tasks_.end() || state.version <= it->second->version) return;
    Task changed = *it->second;
    journal::apply_state(changed, state);
    replace_task(it->second, std::move(changed));
}

void Store::apply(journal::Change change) {
    std::unique_lock lock(mutex_);
    std::visit(
        [&](auto& c) {
            using C = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<C, journal::TaskCreated>) {
                if (tasks_.contains(c.task.id)) return;
                insert_task(std::make_shared<const Task>(std::move(c.task)));
            } else if constexpr (std::is_same_v<C, journal::TaskChanged>) {
                apply_state(c.state);
            } else if constexpr (std::is_same_v<C, journal::AgentRegistered>) {
                auto entry = std::make_unique<AgentEntry>();
                entry->agent = c.agent;
                entry->agent.last_seen_at.reset();
                if (c.agent.last_seen_at) entry->last_seen_us = model::to_micros(*c.agent.last_seen_at);
                agent_by_token_[c.agent.token_hash] = c.agent.id;
                agents_[c.agent.id] = std::move(entry);
            } else if constexpr (std::is_same_v<C, journal::AgentDeleted>) {
                if (auto it = agents_.find(c.id); it != agents_.end()) {
                    agent_by_token_.erase(it->second->agent.token_hash);
                    agents_.erase(it);
                }
                for (const auto& state : c.released) apply_state(state);
            } else if constexpr (std::is_same_v<C, journal::TasksPurged>) {
                for (const Uuid& id : c.ids) erase_task(id);
            } else if constexpr (std::is_same_v<C, journal::AgentSeen>) {
                if (auto it = agents_.find(c.id); it != agents_.end()) {
                    auto& seen = it->second->last_seen_us;
                    seen = std::max(seen.load(), model::to_micros(c.at));
                }
            }
        },
        change);
}

journal::SnapshotData Store::capture(const std::function<void(std::uint64_t)>& under_lock) const {
    journal::SnapshotData data;
    {
        // Writers wait while this runs: copy pointers in table order, nothing more.
        const auto start = std::chrono::steady_clock::now();
        std::shared_lock lock(mutex_);
        data.sequence = log_.last_sequence();
        under_lock(data.sequence);
        data.agents.reserve(agents_.size());
        for (const auto& [id, entry] : agents_) data.agents.push_back(snapshot(*entry));
        data.tasks.reserve(tasks_.size());
        for (const auto& [id, task] : tasks_) data.tasks.push_back({task, std::nullopt});
        data.pause = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    }
    // In created_at order, so that recovery appends to every index at its end.
    std::sort(data.tasks.begin(), data.tasks.end(), [](const journal::SnapshotTask& a, const journal::SnapshotTask& b) {
        return key_of(*a.task) < key_of(*b.task);
    });
    return data;
}

}  // namespace taskd::store
