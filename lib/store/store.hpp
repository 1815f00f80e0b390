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
// order in which changes were applied.
#pragma once

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
    explicit Store(const model::Clock& clock) : clock_(clock) {}
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // --- tasks ---
    model::Task create_task(NewTask input);
    std::optional<model::Task> find_task(const Uuid& id) const;

    // PATCH per the transition table. not_found when there is no such task; an agent's request
    // for a task outside its scope (another tenant's) is not_found too, so that existence does
    // not leak. conflict / lease_lost when the table refuses.
    // `agent` is who asks; nullopt means the admin.
    model::Result<model::Task> patch_task(const Uuid& id, const model::Patch& patch,
                                          const std::optional<model::Agent>& agent);

    // Claims the oldest pending task that `agent` may take; nullopt when there is none.
    // unauthorized when the agent has been deleted since it authenticated.
    model::Result<std::optional<model::Task>> claim(const model::Agent& agent);

    // Calls `visit` for up to `limit` tasks matching `filter`, newest first, starting strictly
    // after `after` (in that order). Returns true when more matching tasks remain. `visit` runs
    // under the shared lock: it must not call back into the store.
    bool list_tasks(const TaskFilter& filter, const std::optional<TaskKey>& after, std::size_t limit,
                    const std::function<void(const model::Task&)>& visit) const;

    std::size_t task_count() const;
    std::array<std::size_t, 4> task_count_by_status() const;

    // --- agents ---
    model::Agent register_agent(std::string name, std::optional<Uuid> tenant_id, const model::TokenHash& token_hash);
    std::optional<model::Agent> find_agent(const Uuid& id) const;
    std::vector<model::Agent> list_agents() const;  // newest first

    // The agent whose token hashes to `token_hash`; marks it seen now.
    std::optional<model::Agent> authenticate_agent(const model::TokenHash& token_hash);

    // Removes the agent (its token stops working at once) and releases its running tasks as a
    // lost lease would ("agent deleted"). not_found when there is no such agent.
    model::Result<void> delete_agent(const Uuid& id);

private:
    using KeySet = std::set<TaskKey>;
    struct TenantIndex {
        KeySet all;
        std::array<KeySet, 4> by_status;
    };
    struct AgentEntry {
        model::Agent agent;  // last_seen_at lives in last_seen_us
        std::atomic<std::int64_t> last_seen_us{0};  // 0: never
    };

    static std::size_t slot(model::Status s) { return static_cast<std::size_t>(s); }
    void index_insert(const model::Task& t);
    void index_erase(const model::Task& t);
    const KeySet& narrowest_index(const TaskFilter& filter) const;
    static bool matches(const model::Task& t, const TaskFilter& filter);
    model::Agent snapshot(const AgentEntry& entry) const;

    const model::Clock& clock_;
    mutable std::shared_mutex mutex_;
    boost::unordered_flat_map<Uuid, model::Task, UuidHash> tasks_;
    KeySet all_;
    std::array<KeySet, 4> by_status_;
    std::unordered_map<Uuid, TenantIndex, UuidHash> by_tenant_;
    std::unordered_map<Uuid, KeySet, UuidHash> by_agent_;
    boost::unordered_flat_map<Uuid, std::unique_ptr<AgentEntry>, UuidHash> agents_;
    boost::unordered_flat_map<model::TokenHash, Uuid, TokenHashHash> agent_by_token_;
    const KeySet empty_;
};

}  // namespace taskd::store
