// Store: every task and agent, in memory, with the indices the API reads by.
//
// Tasks are kept by id, and their keys (created_at, id) in ordered sets: all tasks, by status,
// by tenant (all, and by status), and by agent (tasks whose agent_id is that agent). The pending
// sets are the claim queues: a tenant's, and the one across tenants that shared agents take from.
//
// Thread-safety: every method may be called from any thread. One std::shared_mutex guards all
// of it: readers (get, list, authenticate) share it, changes take it exclusively, and nothing
// holds it after a method returns. Agents' last_seen_at is atomic so that authentication, which
// happens on every request, stays a reader.
//
// Every change reads the time from the Clock while holding the lock, so updated_at follows the
// order in which changes were applied, and sends one record to the ChangeLog (the journal)
// under the same lock, so that the journal's order is the order of application. A change is
// computed on a copy, logged, then applied: when the log has failed the change is refused
// (journal_failed) and nothing is applied. The caller answers only once the record is durable
// (Committed::sequence).
#pragma once

#include "journal/change.hpp"
#include "journal/change_log.hpp"
#include "journal/snapshot.hpp"
#include "model/agent.hpp"
#include "model/errc.hpp"
#include "model/task.hpp"
#include "model/transition.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <memory_resource>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace taskd::store {

using model::Uuid;

// A task's place in the created_at order; ties are broken by id.
struct TaskKey {
    std::int64_t created_us = 0;
    Uuid id{};

    friend bool operator==(const TaskKey& a, const TaskKey& b) { return a.created_us == b.created_us && a.id == b.id; }
    friend bool operator<(const TaskKey& a, const TaskKey& b) {
        if (a.created_us != b.created_us) return a.created_us < b.created_us;
        return std::memcmp(a.id.data, b.id.data, sizeof a.id.data) < 0;
    }
};

inline TaskKey key_of(const model::Task& t) { return TaskKey{model::to_micros(t.created_at), t.id}; }

struct TaskFilter {
    std::optional<Uuid> tenant_id;
    std::optional<model::Status> status;
    std::optional<Uuid> agent_id;
    std::optional<std::string> type;
};

struct NewTask {
    Uuid tenant_id{};
    std::string type;
    model::JsonText payload;
    std::uint32_t max_attempts = model::kDefaultMaxAttempts;
    std::uint32_t lease_seconds = model::kDefaultLeaseSeconds;
};

// A change's result and the sequence number of its journal record (0: nothing was logged).
template <class T>
struct Committed {
    T value;
    std::uint64_t sequence = 0;
};

struct UuidHash {
    std::size_t operator()(const Uuid& id) const noexcept {
        std::uint64_t a, b;
        std::memcpy(&a, id.data, 8);
        std::memcpy(&b, id.data + 8, 8);
        return a ^ (b * 0x9E3779B97F4A7C15ull);
    }
};

struct TokenHashHash {
    std::size_t operator()(const model::TokenHash& h) const noexcept {
        std::size_t v;
        std::memcpy(&v, h.data(), sizeof v);  // a SHA-256 is uniform already
        return v;
    }
};

class Store {
public:
    Store(const model::Clock& clock, journal::ChangeLog& log) : clock_(clock), log_(log) {}
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // --- tasks ---
    model::Result<Committed<model::Task>> create_task(NewTask input);
    std::optional<model::Task> find_task(const Uuid& id) const;

    // PATCH per the transition table. not_found when there is no such task; an agent's request
    // for a task outside its scope (another tenant's) is not_found too, so that existence does
    // not leak. conflict / lease_lost when the table refuses.
    // `agent` is who asks; nullopt means the admin.
    model::Result<Committed<model::Task>> patch_task(const Uuid& id, const model::Patch& patch,
                                                     const std::optional<model::Agent>& agent);

    // Claims the oldest pending task that `agent` may take; nullopt when there is none.
    // unauthorized when the agent has been deleted since it authenticated.
    model::Result<Committed<std::optional<model::Task>>> claim(const model::Agent& agent);

    // Calls `visit` for up to `limit` tasks matching `filter`, newest first, starting strictly
    // after `after` (in that order). Returns true when more matching tasks remain. `visit` runs
    // under the shared lock: it must not call back into the store.
    bool list_tasks(const TaskFilter& filter, const std::optional<TaskKey>& after, std::size_t limit,
                    const std::function<void(const model::Task&)>& visit) const;

    std::size_t task_count() const;
    std::array<std::size_t, 4> task_count_by_status() const;

    // Drops completed and failed tasks last changed before `cutoff` (--retain), at most `max`
    // of them, with one tasks_purged record; returns how many.
    Committed<std::size_t> purge_finished(model::Timestamp cutoff, std::size_t max);

    // --- agents ---
    model::Result<Committed<model::Agent>> register_agent(std::string name, std::optional<Uuid> tenant_id,
                                                          const model::TokenHash& token_hash);
    std::optional<model::Agent> find_agent(const Uuid& id) const;
    std::vector<model::Agent> list_agents() const;  // newest first

    // The agent whose token hashes to `token_hash`; marks it seen now. last_seen_at is logged
    // at most once a second per agent, and not waited for: it is a hint.
    std::optional<model::Agent> authenticate_agent(const model::TokenHash& token_hash);

    // Removes the agent (its token stops working at once) and releases its running tasks as a
    // lost lease would ("agent deleted"), all in one record; the value is how many tasks it
    // released. not_found when there is no such agent.
    model::Result<Committed<std::size_t>> delete_agent(const Uuid& id);

    // Logs the last_seen_at of every agent seen since its value was last logged; returns the
    // sequence number to wait for (0: nothing to log). At a clean stop, so that a restart
    // shows exactly what the stopped server showed.
    std::uint64_t log_last_seen();

    // --- durability ---
    // Applies a change read back from disk by recovery. Call before serving.
    void apply(journal::Change change);
    // The whole state and the sequence number it corresponds to, copied under the shared lock
    // (changes wait, reads do not); `under_lock(sequence)` runs while the lock is held.
    journal::SnapshotData capture(const std::function<void(std::uint64_t)>& under_lock) const;

private:
    // Index nodes come from one pool (every index changes under the exclusive lock, so an
    // unsynchronized pool will do): a task sits in four or five sets, and the general-purpose
    // allocator made their nodes the largest cost of recovery.
    using KeySet = std::pmr::set<TaskKey>;
    struct TenantIndex {
        explicit TenantIndex(std::pmr::memory_resource* pool)
            : all(pool), by_status{KeySet(pool), KeySet(pool), KeySet(pool), KeySet(pool)} {}
        KeySet all;
        std::array<KeySet, 4> by_status;
    };
    // Tasks are immutable versions: a change stores a new one. A reader copies a pointer, and a
    // snapshot's capture copies pointers, not tasks.
    using TaskPtr = std::shared_ptr<const model::Task>;
    struct AgentEntry {
        model::Agent agent;  // last_seen_at lives in last_seen_us
        std::atomic<std::int64_t> last_seen_us{0};  // 0: never
        std::atomic<std::int64_t> last_logged_us{0};
    };

    static std::size_t slot(model::Status s) { return static_cast<std::size_t>(s); }
    void index_insert(const model::Task& t);
    void index_erase(const model::Task& t);
    const KeySet& narrowest_index(const TaskFilter& filter) const;
    static bool matches(const model::Task& t, const TaskFilter& filter);
    model::Agent snapshot(const AgentEntry& entry) const;
    model::Result<void> check_log() const;
    // Replaces the stored version of `changed.id` with `changed`, keeping the indices right.
    void replace_task(TaskPtr& stored, model::Task changed);
    void insert_task(TaskPtr task);
    void erase_task(const Uuid& id);
    KeySet& agent_index(const Uuid& agent);
    void apply_state(const journal::TaskState& state);

    const model::Clock& clock_;
    journal::ChangeLog& log_;
    mutable std::shared_mutex mutex_;
    std::pmr::unsynchronized_pool_resource pool_;
    boost::unordered_flat_map<Uuid, TaskPtr, UuidHash> tasks_;
    KeySet all_{&pool_};
    std::array<KeySet, 4> by_status_{KeySet(&pool_), KeySet(&pool_), KeySet(&pool_), KeySet(&pool_)};
    std::unordered_map<Uuid, TenantIndex, UuidHash> by_tenant_;
    std::unordered_map<Uuid, KeySet, UuidHash> by_agent_;
    boost::unordered_flat_map<Uuid, std::unique_ptr<AgentEntry>, UuidHash> agents_;
    boost::unordered_flat_map<model::TokenHash, Uuid, TokenHashHash> agent_by_token_;
    const KeySet empty_{&pool_};
};

}  // namespace taskd::store
