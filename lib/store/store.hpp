// Store: every task and agent, in memory, with the indices the API reads by and the queues
// agents claim from.
//
// Tasks live in TaskSlots (one per task, for its life). The store is commands over named
// parts: TaskTable (the slots by id, and the task types they name), Indices (ordered sets of
// slots by (created_at, id) per status, per tenant and status, per agent, for listings; and the
// ClaimQueues by priority, one set per tenant and one across tenants for shared agents), Delays
// (pending tasks waiting for their not_before), Leases (running tasks by deadline), Agents (the
// registry), Deferred (what claims leave for the next exclusive holder: fix-ups and retired
// versions). Replay and capture (store/replay.cpp) rebuild and copy the whole.
//
// Locking. One std::shared_mutex. Reads (get, list, authenticate) share it. A claim shares it
// too: it pops a queue without a lock, wins the task by compare-and-swap on the slot's state
// word, and publishes the task's new version; it cannot move the task in the ordered indices
// (they are not safe to change under a shared lock), so it queues the slot for a fix-up that
// the next exclusive holder does first. Every other change takes the lock exclusively. So a
// claim never waits for another claim, and exactly one claim wins each pending task.
//
// Durability. Every change reads the time from the Clock and sends one record to the ChangeLog
// (the journal) while it holds the lock, so that the journal's order is the order in which
// changes to a task were applied. A change is computed on a copy, logged, then applied (a claim
// publishes first and logs next: see claim()); when the log has failed the change is refused
// (journal_failed) and nothing is applied. The caller answers only once the record is durable
// (Logged::sequence).
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include "journal/change.hpp"
#include "journal/change_log.hpp"
#include "journal/snapshot.hpp"
#include "metrics/sharded.hpp"
#include "model/agent.hpp"
#include "model/errc.hpp"
#include "model/task.hpp"
#include "model/transition.hpp"
#include "store/agents.hpp"
#include "store/claim_queue.hpp"
#include "store/deferred.hpp"
#include "store/delays.hpp"
#include "store/idempotency.hpp"
#include "store/indices.hpp"
#include "store/leases.hpp"
#include "store/task_key.hpp"
#include "store/task_slot.hpp"
#include "store/task_table.hpp"

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace taskd::store {

struct TaskFilter {
    std::optional<Uuid> tenant_id;
    std::optional<model::Status> status;
    std::optional<Uuid> agent_id;
    std::optional<std::string> type;
    std::optional<std::uint8_t> priority;
};

struct NewTask {
    Uuid tenant_id{};
    std::string type;
    model::JsonText payload;
    std::uint32_t max_attempts = model::kDefaultMaxAttempts;
    std::uint32_t lease_seconds = model::kDefaultLeaseSeconds;
    std::optional<std::string> idempotency_key;
    model::Schedule schedule;  // priority and not_before (delay_seconds is turned into it by the API)
};

// A change's result and the sequence number of its journal record (0: nothing was logged).
// Logged, not yet durable: the caller waits for `sequence` (ChangeLog::wait_durable) before it
// answers.
template <class T>
struct Logged {
    T value;
    std::uint64_t sequence = 0;
};

struct Created {
    model::Task task;
    bool repeat = false;  // an earlier create with the same Idempotency-Key: nothing was created
};

class Store {
public:
    Store(const model::Clock& clock, journal::ChangeLog& log);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Called, outside the store's lock, with the tenant of every task that has become
    // claimable (created, re-queued, released): long polls wait on it. Set it before serving.
    void set_on_pending(std::function<void(const Uuid& tenant)> on_pending) { on_pending_ = std::move(on_pending); }
    // Called, outside the lock, with the not_before of every task created delayed: the server's
    // timer calls release_due() at the earliest. Set it before serving.
    void set_on_delayed(std::function<void(model::Timestamp)> on_delayed) { on_delayed_ = std::move(on_delayed); }
    // Whose task a shared agent claims (--shared-claim-order). Set before the first task.
    void set_shared_claim_order(model::SharedClaimOrder order) {
        shared_order_ = order;
        indices_.set_shared_queue(order == model::SharedClaimOrder::oldest);
    }

    // --- tasks ---
    // With an idempotency key that this tenant used within 24 hours: the task of that create
    // (repeat), or a validation error when the body differs.
    model::Result<Logged<Created>> create_task(NewTask input);
    std::optional<model::Task> find_task(const Uuid& id) const;

    // PATCH per the transition table. not_found when there is no such task; an agent's request
    // for a task whose agent_id is not that agent (another tenant's, or one it never held or no
    // longer holds) is not_found too, so that existence does not leak. conflict / lease_lost when
    // the table refuses; an agent whose lease has run out gets lease_lost, and the task is
    // released at once.
    model::Result<Logged<model::Task>> patch_task(const Uuid& id, const model::Patch& patch,
                                                     const std::optional<model::Agent>& agent);

    // Claims the claimable task that `agent` may take first: the highest priority, then the
    // oldest (a shared agent in fair order: of the next tenant in turn); nullopt when there is
    // none. A delayed task is claimable from its not_before on. unauthorized when the agent has
    // been deleted since it authenticated. Takes the store's lock shared only (exclusive first
    // when a delayed task's time has come).
    model::Result<Logged<std::optional<model::Task>>> claim(const model::Agent& agent);

    // Calls `visit` for up to `limit` tasks matching `filter`, newest first, starting strictly
    // after `after` (in that order). Returns true when more matching tasks remain. `visit` runs
    // under the shared lock: it must not call back into the store.
    bool list_tasks(const TaskFilter& filter, const std::optional<TaskKey>& after, std::size_t limit,
                    const std::function<void(const model::Task&)>& visit) const;

    std::size_t task_count() const;
    std::array<std::size_t, 4> task_count_by_status() const;

    // Bounds on what the API can make the store hold (0: none). At --max-tasks a create is
    // refused with `unavailable` (503), at --max-pending-per-tenant with `too_many` (429); an
    // idempotent repeat is still answered. Set before serving.
    struct Limits {
        std::size_t max_tasks = 0;
        std::size_t max_pending_per_tenant = 0;
    };
    void set_limits(Limits limits) { limits_ = limits; }

    // Events counted for GET /metrics since this process started (sharded: claims run on every
    // core without a lock, and must not share a counter's cache line).
    struct Counters {
        metrics::ShardedCounter claims;              // claims that won a task
        metrics::ShardedCounter lease_expiries;      // by the maintenance pass, or at a late PATCH
        metrics::ShardedCounter idempotent_repeats;  // creates answered with the first task of their key
        metrics::ShardedCounter creates;             // tasks created (repeats not counted)
        metrics::ShardedCounter completions;         // tasks that became completed
    };
    const Counters& counters() const { return counters_; }

    // What GET /stats (the console) shows. Costs the number of tenants and agents, never of
    // tasks: the index sets keep their sizes as tasks move, and the totals are the counters.
    struct TenantStats {
        Uuid tenant_id{};
        std::size_t pending = 0;
        std::size_t running = 0;
        std::size_t failed = 0;
    };
    struct Stats {
        std::array<std::size_t, 4> by_status{};
        std::vector<TenantStats> tenants;  // every tenant with a task held, by id
        std::size_t agents = 0;
        std::size_t agents_seen = 0;  // agents seen within `seen_within` of `now`
        std::uint64_t creates = 0;
        std::uint64_t claims = 0;
        std::uint64_t completions = 0;
        model::Timestamp now{};  // the clock when counted: rates divide by differences of it
    };
    Stats stats(std::chrono::microseconds seen_within) const;

    // Makes the delayed tasks whose time has come claimable and wakes their tenants' polls;
    // returns how many. Nothing is logged: a task's not_before is in its create record, and
    // recovery makes it claimable by the clock (Delays).
    std::size_t release_due();
    // When the earliest delayed task is due; nullopt when none waits.
    std::optional<model::Timestamp> next_due() const;

    // Releases every running task whose lease ended at or before now: back to pending while
    // attempts remain, else failed ("lease expired"), one record each. Returns how many, and
    // the last record.
    Logged<std::size_t> expire_leases();

    // Drops completed and failed tasks last changed before `cutoff` (--retain), at most `max`
    // of them, with one tasks_purged record; returns how many. Also forgets idempotency keys
    // older than their window.
    Logged<std::size_t> purge_finished(model::Timestamp cutoff, std::size_t max);

    // --- agents ---
    model::Result<Logged<model::Agent>> register_agent(std::string name, std::optional<Uuid> tenant_id,
                                                          const model::TokenHash& token_hash);
    std::optional<model::Agent> find_agent(const Uuid& id) const;
    std::vector<model::Agent> list_agents() const;  // newest first

    // The agent whose token hashes to `token_hash`; marks it seen now. last_seen_at is logged
    // at most once a second per agent, and not waited for: it is a hint.
    std::optional<model::Agent> authenticate_agent(const model::TokenHash& token_hash);

    // Removes the agent (its token stops working at once) and releases its running tasks as a
    // lost lease would ("agent deleted"), all in one record; the value is how many tasks it
    // released. not_found when there is no such agent.
    model::Result<Logged<std::size_t>> delete_agent(const Uuid& id);

    // Logs the last_seen_at of every agent seen since its value was last logged; returns the
    // sequence number to wait for (0: nothing to log). At a clean stop, so that a restart
    // shows exactly what the stopped server showed.
    std::uint64_t log_last_seen();

    // --- durability ---
    // Applies a change read back from disk by recovery. Call before serving.
    void apply(journal::Change change);
    // The same for a whole recovery: holds the lock exclusively from construction to
    // destruction, and builds the claim queues once, from the result, when it ends: then the
    // store is as if every change had been applied with apply().
    class Replay {
    public:
        explicit Replay(Store& store);
        ~Replay();
        Replay(const Replay&) = delete;
        Replay& operator=(const Replay&) = delete;
        void apply(journal::Change&& change) { store_.apply_locked(std::move(change)); }
        // Room for `tasks` more tasks (a snapshot's count: journal::recover's ExpectTasks), so
        // that the id table does not rehash a million entries on the way.
        void reserve(std::size_t tasks) { store_.tasks_.reserve(store_.tasks_.size() + tasks); }

    private:
        Store& store_;
        std::unique_lock<std::shared_mutex> lock_;
    };
    // The whole state and the sequence number it corresponds to, taken under the shared lock
    // (changes wait, reads do not); `under_lock(sequence)` runs while the lock is held. The
    // task versions it holds are not freed while the SnapshotData lives.
    journal::SnapshotData capture(const std::function<void(std::uint64_t)>& under_lock) const;

private:
    using Exclusive = std::unique_lock<std::shared_mutex>;

    // The exclusive lock, with the claims' deferred work done first (fix-ups, freeing, and
    // the queues' rebuild after recovery unless `rebuild` is false: recovery itself).
    Exclusive lock_exclusive(bool rebuild = true) const;

    // nullptr, and nothing done, when a task with this id is there already.
    TaskSlot* insert(model::Task&& task);
    // Only for a task that is not pending, after Indices::sweep_queues(): no queue entry may
    // point at it.
    void erase(const Uuid& id);
    // Publishes `changed` as the task's new version (exclusive lock), moving it in the indices
    // and queues as its state requires. Returns the tenant when it became claimable.
    std::optional<Uuid> replace(TaskSlot* slot, const model::Task& changed);
    std::optional<Uuid> release(TaskSlot* slot, std::string_view reason, model::Timestamp now,
                                journal::RecordType type, std::uint64_t& sequence);
    void apply_state(const journal::TaskState& state);
    // Queues a pending task (exclusive lock), or adds it to Delays when its time is after
    // `now_us`: true when it was queued. Nothing while the queues are stale (a replay).
    bool make_claimable(TaskSlot* slot, bool put_back, std::int64_t now_us);
    bool wait_for_time(const TaskSlot& slot, std::int64_t now_us) const;
    // The claim queues and Delays from the pending tasks (exclusive lock): after a replay.
    void rebuild_queues() const;
    void apply_locked(journal::Change&& change);

    static bool matches(const TaskSlot& slot, const TaskVersion& v, const TaskFilter& filter);
    model::Result<void> check_log() const;
    void notify(const std::vector<Uuid>& tenants) const;

    const model::Clock& clock_;
    journal::ChangeLog& log_;
    std::function<void(const Uuid&)> on_pending_;
    std::function<void(model::Timestamp)> on_delayed_;
    model::SharedClaimOrder shared_order_ = model::SharedClaimOrder::oldest;

    mutable std::shared_mutex mutex_;
    Counters counters_;
    Limits limits_;

    // Everything below changes only under the exclusive lock, but for what claims do under
    // the shared one (Deferred, ClaimQueue pops, a slot's word and version). Mutable: the
    // claims' deferred work, which moves tasks in the indices and adds their leases, is done
    // by whichever method takes the lock exclusively first, reads among them (counts, stats,
    // a listing after claims); nothing else changes in a const method.
    mutable Deferred deferred_;
    TaskTable tasks_;
    mutable Indices indices_;
    mutable Leases leases_;
    mutable Delays delays_;  // rebuilt with the queues, by whichever holder rebuilds them
    std::unordered_map<IdempotencyKey, IdempotencyEntry, IdempotencyKeyHash> idempotency_;
    Agents agents_;
};

}  // namespace taskd::store
