// Store's durability: changes read back from disk applied (recovery), and the whole state
// copied for a snapshot.
#include "store/store.hpp"

#include <algorithm>

namespace taskd::store {

using model::Task;

// Recovery applies a million changes one by one under one lock. The ordered sets' inserts are
// cheap with the slots' intrusive hooks and end() hints (tasks come in created_at order), so
// they are made here, inline; a second thread that kept them cost the replaying thread more
// to hand each operation over than the operation itself (doc/design.md, "Snapshots and
// recovery").
Store::Replay::Replay(Store& store) : store_(store), lock_(store.lock_exclusive(false)) {
    // The claim queues are built once, from the result, when the replay ends.
    store_.indices_.mark_queues_stale();
}

Store::Replay::~Replay() { store_.rebuild_queues(); }

void Store::apply_state(const journal::TaskState& state) {
    TaskSlot* slot = tasks_.find(state.id);
    // A state no newer than the task's is already in it (or superseded): replay is idempotent.
    if (!slot || state.version <= slot->state().version) return;
    Task changed = slot->task();
    journal::apply_state(changed, state);
    replace(slot, changed);
}

void Store::apply(journal::Change change) {
    Exclusive lock = lock_exclusive(false);
    // Recovery applies changes one by one; the claim queues are built once, from the result,
    // by the first operation after it.
    indices_.mark_queues_stale();
    apply_locked(std::move(change));
}

void Store::apply_locked(journal::Change&& change) {
    std::visit(
        [&](auto& c) {
            using C = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<C, journal::TaskCreated>) {
                const Uuid tenant = c.task.tenant_id, id = c.task.id;
                const auto created = c.task.created_at;
                TaskSlot* slot = insert(std::move(c.task));
                if (!slot) return;  // there already
                if (c.idempotency_key) {
                    const BodyDigest digest =
                        body_digest(tenant, slot->type->first, *slot->payload, slot->max_attempts, slot->lease_seconds,
                                    slot->priority);
                    slot->idempotency_key = std::make_unique<const std::string>(*c.idempotency_key);
                    idempotency_[IdempotencyKey{tenant, *c.idempotency_key}] = IdempotencyEntry{id, digest, created, 0};
                }
            } else if constexpr (std::is_same_v<C, journal::TaskChanged>) {
                apply_state(c.state);
            } else if constexpr (std::is_same_v<C, journal::AgentRegistered>) {
                agents_.add(c.agent);
            } else if constexpr (std::is_same_v<C, journal::AgentDeleted>) {
                agents_.remove(c.id);
                for (const auto& state : c.released) apply_state(state);
            } else if constexpr (std::is_same_v<C, journal::TasksPurged>) {
                indices_.sweep_queues();
                for (const Uuid& id : c.ids) erase(id);
            } else if constexpr (std::is_same_v<C, journal::SnapshotTasks>) {
                // Recovery hands these on one by one; a caller of apply() may not.
                for (auto& task : c.tasks) apply_locked(journal::Change{std::move(task)});
            } else if constexpr (std::is_same_v<C, journal::AgentSeen>) {
                if (Agents::Entry* entry = agents_.find(c.id)) {
                    auto& seen = entry->last_seen_us;
                    seen = std::max(seen.load(), model::to_micros(c.at));
                    entry->last_logged_us = seen.load();
                }
            }
        },
        change);
}

journal::SnapshotData Store::capture(const std::function<void(std::uint64_t)>& under_lock) const {
    journal::SnapshotData data;
    // Each task's slot and the version current at the capture. Both stay alive (reclaim() and
    // purges wait: Deferred::hold) until `data` lets go of its hold.
    using Captured = std::vector<std::pair<const TaskSlot*, const TaskVersion*>>;
    auto tasks = std::make_shared<Captured>();
    {
        // Writers wait while this runs: copy pointers in table order, nothing more.
        const auto start = std::chrono::steady_clock::now();
        std::shared_lock lock(mutex_);
        data.sequence = log_.last_sequence();
        under_lock(data.sequence);
        data.hold = deferred_.hold();
        data.agents.reserve(agents_.size());
        agents_.for_each([&](const Agents::Entry& entry) { data.agents.push_back(entry.current()); });
        tasks->reserve(tasks_.size());
        tasks_.for_each([&](const TaskSlot& slot) { tasks->emplace_back(&slot, &slot.state()); });
        data.pause = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    }
    // In created_at order, so that recovery appends to every index at its end.
    std::sort(tasks->begin(), tasks->end(), [](const auto& a, const auto& b) { return a.first->key < b.first->key; });
    data.task_count = tasks->size();
    data.read_task = [tasks](std::size_t i, Task& task, std::optional<std::string>& key) {
        const auto& [slot, version] = (*tasks)[i];
        task = slot->task_at(*version);
        if (slot->idempotency_key) key = *slot->idempotency_key;
        else key.reset();
    };
    return data;
}

}  // namespace taskd::store
