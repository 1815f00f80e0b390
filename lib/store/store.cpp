#include "store/store.hpp"

#include <algorithm>
#include <cassert>
#include <mutex>

namespace taskd::store {

using journal::RecordType;
using model::Status;
using model::Task;

namespace {
// last_seen_at is logged at most this often per agent: a hint, not worth a record per request.
constexpr std::int64_t kSeenLogIntervalMicros = 1'000'000;
}  // namespace

Store::Store(const model::Clock& clock, journal::ChangeLog& log) : clock_(clock), log_(log) {}

Store::~Store() = default;

// --- claims' deferred work ---

Store::Exclusive Store::lock_exclusive(bool rebuild) const {
    Exclusive lock(mutex_);
    deferred_.take_fixups([this](TaskSlot* slot) {
        const TaskVersion& v = slot->state();
        indices_.move(slot, v.status, v.agent());  // where the claim left it, if anywhere
        leases_.track(*slot, v);
    });
    deferred_.reclaim();
    if (rebuild && indices_.queues_stale()) rebuild_queues();
    return lock;
}

void Store::rebuild_queues() const {
    delays_.clear();
    const std::int64_t now_us = model::to_micros(clock_.now());
    indices_.rebuild_queues([&](TaskSlot* slot) { return !wait_for_time(*slot, now_us); });
}

bool Store::wait_for_time(const TaskSlot& slot, std::int64_t now_us) const {
    if (!slot.state().delayed || slot.not_before_us <= now_us) return false;
    delays_.add(slot.not_before_us, slot.key.id);
    return true;
}

bool Store::make_claimable(TaskSlot* slot, bool put_back, std::int64_t now_us) {
    if (indices_.queues_stale()) return false;  // rebuilt whole later (a replay)
    if (wait_for_time(*slot, now_us)) return false;
    indices_.enqueue(slot, put_back);
    return true;
}

// --- a task's place in the parts (exclusive lock) ---

TaskSlot* Store::insert(Task&& task) {
    TaskSlot* slot = tasks_.insert(std::move(task));
    if (!slot) return nullptr;
    const TaskVersion& v = slot->state();
    indices_.add(slot, v.status, v.agent());

    leases_.track(*slot, v);
    return slot;
}

void Store::erase(const Uuid& id) {
    TaskSlot* slot = tasks_.find(id);
    if (!slot) return;
    indices_.remove(slot);
    if (slot->idempotency_key) {
        // The key may have been used again, for a newer task, once its window had passed.
        auto entry = idempotency_.find(IdempotencyKey{slot->tenant_id, *slot->idempotency_key});
        if (entry != idempotency_.end() && entry->second.task == id) idempotency_.erase(entry);
    }
    // A snapshot being written may still read the slot: then it is freed later.
    tasks_.erase(slot, deferred_.held());
}

std::optional<Uuid> Store::replace(TaskSlot* slot, const Task& changed) {
    const TaskVersion& before = slot->state();
    const bool was_pending = before.status == Status::pending;
    const bool moved = before.status != changed.status || before.agent() != changed.agent_id;
    auto* version = new TaskVersion(changed);
    slot->word.store(make_word(version->version, version->status), std::memory_order_release);
    deferred_.retire(slot->current.exchange(version, std::memory_order_acq_rel));
    if (moved) indices_.move(slot, version->status, version->agent());
    leases_.track(*slot, *version);
    // A task pending again was released or re-queued: claimable at once (model/transition).
    if (version->status == Status::pending && !was_pending &&
        make_claimable(slot, true, model::to_micros(changed.updated_at)))
        return slot->tenant_id;
    return std::nullopt;
}

std::optional<Uuid> Store::release(TaskSlot* slot, std::string_view reason, model::Timestamp now, RecordType type,
                                   std::uint64_t& sequence) {
    Task changed = slot->task();
    model::apply_release(changed, reason, now);
    sequence = log_.append(type, journal::encode_task_state(changed));
    return replace(slot, changed);
}

model::Result<void> Store::check_log() const {
    if (log_.healthy()) return {};
    return model::make_error(model::Errc::journal_failed,
                             "Changes are refused: the journal failed (" + log_.failure() + ") and taskd must be restarted");
}

void Store::notify(const std::vector<Uuid>& tenants) const {
    if (!on_pending_) return;
    for (const Uuid& t : tenants) on_pending_(t);
}

// --- tasks ---

model::Result<Logged<Created>> Store::create_task(NewTask input) {
    Logged<Created> out;
    bool claimable = false;
    {
        Exclusive lock = lock_exclusive();
        if (auto ok = check_log(); !ok) return ok.error();
        const auto now = clock_.now();
        std::optional<BodyDigest> digest;
        if (input.idempotency_key) {
            digest = body_digest(input.tenant_id, input.type, *input.payload, input.max_attempts, input.lease_seconds,
                                 input.schedule.priority);
            const IdempotencyKey key{input.tenant_id, *input.idempotency_key};
            if (auto seen = idempotency_.find(key);
                seen != idempotency_.end() && now - seen->second.created_at < kIdempotencyWindow) {
                if (seen->second.digest != *digest)
                    return model::validation_error(
                        {model::FieldError{{"header", "Idempotency-Key"},
                                           "this Idempotency-Key was used with a different body",
                                           "value_error.idempotency_key.reused"}});
                if (const TaskSlot* slot = tasks_.find(seen->second.task)) {
                    counters_.idempotent_repeats.add();
                    return Logged<Created>{Created{slot->task(), true}, seen->second.sequence};
                }
            }
        }
        if (limits_.max_tasks != 0 && tasks_.size() >= limits_.max_tasks)
            return model::make_error(model::Errc::unavailable,
                                     "taskd holds " + std::to_string(tasks_.size()) +
                                         " tasks, its limit (--max-tasks); finished tasks are dropped after --retain");
        if (limits_.max_pending_per_tenant != 0) {
            const TenantIndex* tenant = indices_.tenant(input.tenant_id);
            const std::size_t pending = tenant ? tenant->by_status[slot_of(Status::pending)].size() : 0;
            if (pending >= limits_.max_pending_per_tenant)
                return model::make_error(model::Errc::too_many,
                                         "tenant " + model::to_string(input.tenant_id) + " has " +
                                             std::to_string(pending) +
                                             " pending tasks, its limit (--max-pending-per-tenant)");
        }
        Task t;
        t.id = model::random_uuid();
        t.tenant_id = input.tenant_id;
        t.type = std::move(input.type);
        t.payload = std::move(input.payload);
        t.created_at = t.updated_at = now;
        t.max_attempts = input.max_attempts;
        t.lease_seconds = input.lease_seconds;
        t.schedule = input.schedule;
        out.sequence = log_.append(RecordType::task_created, journal::encode_task_created(t, input.idempotency_key));
        counters_.creates.add();
        out.value.task = t;
        TaskSlot* slot = insert(std::move(t));
        assert(slot != nullptr);  // a new random id: 122 random bits do not repeat
        claimable = make_claimable(slot, false, model::to_micros(now));
        if (input.idempotency_key) {
            slot->idempotency_key = std::make_unique<const std::string>(*input.idempotency_key);
            idempotency_[IdempotencyKey{out.value.task.tenant_id, *input.idempotency_key}] =
                IdempotencyEntry{out.value.task.id, *digest, now, out.sequence};
        }
    }
    if (claimable) notify({out.value.task.tenant_id});
    else if (on_delayed_) on_delayed_(out.value.task.schedule.not_before);
    return out;
}

std::optional<Task> Store::find_task(const Uuid& id) const {
    std::shared_lock lock(mutex_);
    const TaskSlot* slot = tasks_.find(id);
    if (!slot) return std::nullopt;
    return slot->task();
}

model::Result<Logged<Task>> Store::patch_task(const Uuid& id, const model::Patch& patch,
                                                 const std::optional<model::Agent>& agent) {
    Logged<Task> out;
    std::optional<Uuid> pending_again;
    {
        Exclusive lock = lock_exclusive();
        TaskSlot* slot = tasks_.find(id);
        // An agent may change only a task it holds or held last (GET's rule): any other task,
        // of its tenant or another, is missing to it, so that a PATCH cannot probe which ids exist.
        if (!slot || (agent && slot->state().agent() != agent->id))
            return model::make_error(model::Errc::not_found, "Task " + model::to_string(id) + " not found");
        const auto now = clock_.now();
        const Task current = slot->task();
        // Fencing: a holder whose lease ran out has lost the task, even before the expiry pass
        // has released it; it is released now, and the agent told so.
        if (agent && model::held_by(current, agent->id) && current.lease_expires_at && *current.lease_expires_at <= now) {
            if (auto ok = check_log(); !ok) return ok.error();
            std::uint64_t sequence = 0;
            auto tenant = release(slot, "lease expired", now, RecordType::task_lease_expired, sequence);
            counters_.lease_expiries.add();
            lock.unlock();
            if (tenant) notify({*tenant});
            return model::make_error(model::Errc::lease_lost, "Task " + model::to_string(id) +
                                                                  " is not held by this agent: its lease expired");
        }
        Task changed = current;
        const auto actor = agent ? model::Actor::make_agent(agent->id) : model::Actor::make_admin();
        if (auto applied = model::apply_patch(changed, patch, actor, now); !applied) return applied.error();
        if (auto ok = check_log(); !ok) return ok.error();
        out.sequence = log_.append(RecordType::task_updated, journal::encode_task_state(changed));
        if (changed.status == Status::completed && current.status != Status::completed) counters_.completions.add();
        out.value = changed;
        pending_again = replace(slot, changed);
    }
    if (pending_again) notify({*pending_again});
    return out;
}

model::Result<Logged<std::optional<Task>>> Store::claim(const model::Agent& agent) {
    if (indices_.queues_stale()) lock_exclusive();
    // A delayed task whose time has come is claimable now, whether or not the timer has run.
    // The clock is read only when some task waits: a claim otherwise reads it once, to stamp.
    if (const std::int64_t due = delays_.next_due_us(); due != Delays::kNever && due <= model::to_micros(clock_.now()))
        release_due();
    std::shared_lock lock(mutex_);
    if (!agents_.contains(agent.id)) return model::make_error(model::Errc::unauthorized, "Invalid agent credentials");
    // A tenant's agent takes from its tenant's queues; a shared agent from the queues across
    // tenants (oldest first), or from each tenant in turn (--shared-claim-order fair).
    ClaimQueues* queues = agent.tenant_id ? indices_.tenant_queues(*agent.tenant_id)
                          : shared_order_ == model::SharedClaimOrder::oldest ? &indices_.shared_queues()
                                                                             : nullptr;
    const bool in_turn = !agent.tenant_id && shared_order_ == model::SharedClaimOrder::fair;
    if (!queues && !in_turn) return Logged<std::optional<Task>>{};
    while (TaskSlot* slot = in_turn ? indices_.pop_in_turn() : queues->pop()) {
        std::uint64_t word = slot->word.load(std::memory_order_acquire);
        if (status_of(word) != Status::pending) continue;  // claimed through the other queue, or done
        if (auto ok = check_log(); !ok) return ok.error();
        // The version to change is the one the word names; only a claim can change a pending
        // task while the lock is shared, and only the winner of this CAS does.
        TaskVersion* current = slot->current.load(std::memory_order_acquire);
        if (!slot->word.compare_exchange_strong(word, make_word(version_of(word) + 1, Status::running),
                                                std::memory_order_acq_rel, std::memory_order_acquire))
            continue;
        Task changed = slot->task_at(*current);
        // The time is read after the task is won: a task released for its not_before by another
        // thread meanwhile is claimed at or after that time, never stamped before it.
        model::apply_claim(changed, agent.id, clock_.now());
        // Published before it is logged: a snapshot captured meanwhile (it shares the lock)
        // either sees this version, or read the journal's last sequence number before this
        // record got one, and replays it. Logged first, the claim could fall between the two.
        auto* version = new TaskVersion(changed);
        slot->current.store(version, std::memory_order_release);
        deferred_.retire(current);
        const std::uint64_t sequence = log_.append(RecordType::task_claimed, journal::encode_task_state(changed));
        deferred_.queue_fixup(slot);
        counters_.claims.add();
        return Logged<std::optional<Task>>{std::move(changed), sequence};
    }
    return Logged<std::optional<Task>>{};
}

std::size_t Store::release_due() {
    std::vector<Uuid> tenants;
    {
        Exclusive lock = lock_exclusive();
        const std::int64_t now_us = model::to_micros(clock_.now());
        while (const auto id = delays_.take_due(now_us)) {
            TaskSlot* slot = tasks_.find(*id);
            // Gone (cancelled and purged), finished, or lifted by a re-queue: nothing to do.
            if (!slot || slot->state().status != Status::pending || !slot->state().delayed) continue;
            indices_.enqueue(slot, true);
            tenants.push_back(slot->tenant_id);
        }
    }
    notify(tenants);
    return tenants.size();
}

std::optional<model::Timestamp> Store::next_due() const {
    const std::int64_t due = delays_.next_due_us();
    if (due == Delays::kNever) return std::nullopt;
    return model::from_micros(due);
}

bool Store::matches(const TaskSlot& slot, const TaskVersion& v, const TaskFilter& filter) {
    return (!filter.tenant_id || slot.tenant_id == *filter.tenant_id) && (!filter.status || v.status == *filter.status) &&
           (!filter.agent_id || v.agent() == filter.agent_id) && (!filter.type || slot.type->first == *filter.type) &&
           (!filter.priority || slot.priority == *filter.priority);
}

bool Store::list_tasks(const TaskFilter& filter, const std::optional<TaskKey>& after, std::size_t limit,
                       const std::function<void(const Task&)>& visit) const {
    // Claims since the last change have not moved their tasks in the indices yet.
    if (deferred_.fixups_pending()) lock_exclusive();
    std::shared_lock lock(mutex_);
    Cursor cursor;
    indices_.walk(cursor, filter.tenant_id, filter.status, filter.agent_id, after);
    std::size_t visited = 0;
    while (const TaskSlot* slot = cursor.next()) {
        const TaskVersion& v = slot->state();
        if (!matches(*slot, v, filter)) continue;
        if (visited == limit) return true;
        visit(slot->task_at(v));
        ++visited;
    }
    return false;
}

std::size_t Store::task_count() const {
    std::shared_lock lock(mutex_);
    return tasks_.size();
}

std::array<std::size_t, 4> Store::task_count_by_status() const {
    Exclusive lock = lock_exclusive();
    std::array<std::size_t, 4> counts{};
    for (Status s : model::kAllStatuses) counts[slot_of(s)] = indices_.count(s);
    return counts;
}

Store::Stats Store::stats(std::chrono::microseconds seen_within) const {
    Stats out;
    out.now = clock_.now();
    {
        // Exclusive, as task_count_by_status(): claims' fix-ups must move their tasks first.
        Exclusive lock = lock_exclusive();
        for (Status s : model::kAllStatuses) out.by_status[slot_of(s)] = indices_.count(s);
        indices_.for_each_tenant([&](const Uuid& id, const TenantIndex& t) {
            if (t.size() == 0) return;  // tenant indices outlive their tasks
            out.tenants.push_back(TenantStats{id, t.by_status[slot_of(Status::pending)].size(),
                                              t.by_status[slot_of(Status::running)].size(),
                                              t.by_status[slot_of(Status::failed)].size()});
        });
        out.agents = agents_.size();
        const std::int64_t since = model::to_micros(out.now - seen_within);
        agents_.for_each([&](const Agents::Entry& entry) {
            if (entry.last_seen_us.load(std::memory_order_relaxed) >= since) ++out.agents_seen;
        });
    }
    std::sort(out.tenants.begin(), out.tenants.end(),
              [](const TenantStats& a, const TenantStats& b) { return a.tenant_id < b.tenant_id; });
    out.creates = counters_.creates.total();
    out.claims = counters_.claims.total();
    out.completions = counters_.completions.total();
    return out;
}

Logged<std::size_t> Store::expire_leases() {
    Logged<std::size_t> out{0, 0};
    std::vector<Uuid> pending_again;
    {
        Exclusive lock = lock_exclusive();
        if (!log_.healthy()) return out;
        leases_.compact(indices_.by_status(Status::running));
        const auto now = clock_.now();
        while (const auto lease = leases_.take_due(model::to_micros(now))) {
            TaskSlot* slot = tasks_.find(lease->task);
            if (!slot) continue;
            const TaskVersion& v = slot->state();
            // A lease entry is stale once the task has changed since (heartbeat, finish, ...).
            if (v.version != lease->version || v.status != Status::running) continue;
            if (auto tenant = release(slot, "lease expired", now, RecordType::task_lease_expired, out.sequence))
                pending_again.push_back(*tenant);
            ++out.value;
            counters_.lease_expiries.add();
        }
    }
    notify(pending_again);
    return out;
}

Logged<std::size_t> Store::purge_finished(model::Timestamp cutoff, std::size_t max) {
    Exclusive lock = lock_exclusive();
    if (!log_.healthy()) return {};
    if (!deferred_.held()) tasks_.free_erased();  // the slots a snapshot kept last time
    indices_.sweep_queues_if_bloated();
    const auto now = clock_.now();
    std::erase_if(idempotency_, [&](const auto& kv) { return now - kv.second.created_at >= kIdempotencyWindow; });
    // A task is created before it changes last, so finished tasks created at or after the
    // cutoff cannot be due: each walk stops there.
    const std::int64_t cutoff_us = model::to_micros(cutoff);
    std::vector<Uuid> due;
    for (Status s : {Status::completed, Status::failed}) {
        for (const TaskSlot& slot : indices_.by_status(s)) {
            if (slot.key.created_us >= cutoff_us || due.size() == max) break;
            if (slot.state().updated_us < cutoff_us) due.push_back(slot.key.id);
        }
    }
    if (due.empty()) return {};
    const std::uint64_t sequence = log_.append(RecordType::tasks_purged, journal::encode_tasks_purged(now, due));
    indices_.sweep_queues();
    for (const Uuid& id : due) erase(id);
    return Logged<std::size_t>{due.size(), sequence};
}

// --- agents ---

model::Result<Logged<model::Agent>> Store::register_agent(std::string name, std::optional<Uuid> tenant_id,
                                                              const model::TokenHash& token_hash) {
    Exclusive lock = lock_exclusive();
    if (auto ok = check_log(); !ok) return ok.error();
    model::Agent result = model::new_agent(std::move(name), tenant_id, token_hash, clock_.now());
    const std::uint64_t sequence = log_.append(RecordType::agent_registered, journal::encode_agent_registered(result));
    agents_.add(result);
    return Logged<model::Agent>{std::move(result), sequence};
}

std::optional<model::Agent> Store::find_agent(const Uuid& id) const {
    std::shared_lock lock(mutex_);
    const Agents::Entry* entry = agents_.find(id);
    if (!entry) return std::nullopt;
    return entry->current();
}

std::vector<model::Agent> Store::list_agents() const {
    std::vector<model::Agent> out;
    {
        std::shared_lock lock(mutex_);
        out.reserve(agents_.size());
        agents_.for_each([&](const Agents::Entry& entry) { out.push_back(entry.current()); });
    }
    std::sort(out.begin(), out.end(), [](const model::Agent& a, const model::Agent& b) {
        return std::tie(a.created_at, a.id) > std::tie(b.created_at, b.id);
    });
    return out;
}

std::optional<model::Agent> Store::authenticate_agent(const model::TokenHash& token_hash) {
    std::shared_lock lock(mutex_);
    Agents::Entry* found = agents_.find_by_token(token_hash);
    if (!found) return std::nullopt;
    Agents::Entry& entry = *found;
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
    return entry.current();
}

model::Result<Logged<std::size_t>> Store::delete_agent(const Uuid& id) {
    Logged<std::size_t> out;
    std::vector<Uuid> pending_again;
    {
        Exclusive lock = lock_exclusive();
        if (!agents_.contains(id))
            return model::make_error(model::Errc::not_found, "Agent " + model::to_string(id) + " not found");
        if (auto ok = check_log(); !ok) return ok.error();

        const auto now = clock_.now();
        std::vector<std::pair<TaskSlot*, Task>> released;
        if (AgentSet* held = indices_.agent(id)) {
            for (TaskSlot& slot : *held) {
                if (slot.state().status != Status::running) continue;
                Task t = slot.task();
                model::apply_release(t, "agent deleted", now);
                released.emplace_back(&slot, std::move(t));
            }
        }
        std::vector<Task> states;
        for (const auto& [slot, t] : released) states.push_back(t);
        out.sequence = log_.append(RecordType::agent_deleted, journal::encode_agent_deleted(id, now, states));
        agents_.remove(id);
        for (const auto& [slot, t] : released)
            if (auto tenant = replace(slot, t)) pending_again.push_back(*tenant);
        out.value = released.size();
    }
    notify(pending_again);
    return out;
}

std::uint64_t Store::log_last_seen() {
    std::shared_lock lock(mutex_);
    std::uint64_t sequence = 0;
    if (!log_.healthy()) return 0;
    agents_.for_each([&](Agents::Entry& entry) {
        const std::int64_t seen = entry.last_seen_us.load(std::memory_order_relaxed);
        std::int64_t logged = entry.last_logged_us.load(std::memory_order_relaxed);
        if (seen > logged && entry.last_logged_us.compare_exchange_strong(logged, seen, std::memory_order_relaxed))
            sequence = log_.append(RecordType::agent_seen,
                                   journal::encode_agent_seen(entry.agent.id, model::from_micros(seen)));
    });
    return sequence;
}

}  // namespace taskd::store
