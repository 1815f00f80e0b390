// PostgresBackend: tasks, agents and idempotency keys in PostgreSQL (--database-url), so that
// any number of taskd nodes serve one contract over one database.
//
// Every operation is one or two statements on a connection of the pool, each its own
// transaction; an answer goes out only after the database committed (so a node killed after
// answering 2xx has lost nothing). The rules are the in-memory store's, shared through
// model/transition: a claim is one UPDATE of the first claimable task the agent may take,
// picked with FOR UPDATE SKIP LOCKED, so that concurrent claims on any nodes never take one
// task twice and never wait for each other; every other change of a task reads it, applies the
// transition in C++ and writes it back only if its version is still the one read (compare and
// swap; retried when another node changed the task in between).
//
// Long polls: once a change that makes a task claimable has committed, PendingNotices sends
// NOTIFY taskd_pending with the tenant; every node LISTENs (pg::Listener) and wakes a waiter of
// that tenant.
//
// Failures: an unreachable database answers 503 with Retry-After (Errc::unavailable); the pool
// reconnects by itself. Thread-safety: every method from any thread.
#pragma once

#include "backend/backend.hpp"
#include "backend/postgres_notices.hpp"
#include "backend/postgres_wakeups.hpp"
#include "model/time.hpp"
#include "pg/pool.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace taskd::backend {

// The channel of NOTIFY/LISTEN: its payload is the tenant whose task became claimable.
inline constexpr std::string_view kPendingChannel = "taskd_pending";

class PostgresBackend final : public Backend {
public:
    PostgresBackend(boost::asio::any_io_executor executor, std::shared_ptr<pg::Pool> pool, const model::Clock& clock)
        : pool_(pool),
          clock_(clock),
          notices_(std::make_shared<PendingNotices>(executor, std::move(pool), std::string(kPendingChannel))),
          wakeups_(std::make_shared<DelayedWakeups>(std::move(executor), clock, notices_)) {}
    ~PostgresBackend() override { wakeups_->stop(); }

    // --max-pending-per-tenant applies as in memory (429); --max-tasks does not: it bounds a
    // node's memory, and the database keeps tasks on disk. Set before serving.
    void set_limits(store::Store::Limits limits) { limits_ = limits; }
    // --shared-claim-order (issue 23). Set before serving.
    void set_shared_claim_order(model::SharedClaimOrder order) { shared_claim_order_ = order; }
    // Cancels the wake-ups of delayed tasks (shutdown).
    void stop() { wakeups_->stop(); }

    Op<store::Created> create_task(store::NewTask input) override;
    Op<std::optional<model::Task>> find_task(const model::Uuid& id) override;
    Op<model::Task> patch_task(const model::Uuid& id, const model::Patch& patch,
                               const std::optional<model::Agent>& agent) override;
    Op<std::optional<model::Task>> claim(const model::Agent& agent) override;
    Op<bool> list_tasks(const store::TaskFilter& filter, const std::optional<store::TaskKey>& after, std::size_t limit,
                        const std::function<void(const model::Task&)>& visit) override;

    Op<model::Agent> register_agent(std::string name, std::optional<model::Uuid> tenant_id,
                                    const model::TokenHash& token_hash) override;
    Op<std::optional<model::Agent>> find_agent(const model::Uuid& id) override;
    Op<std::vector<model::Agent>> list_agents() override;
    Op<std::optional<model::Agent>> authenticate_agent(const model::TokenHash& token_hash) override;
    // An agent this node checked within the last second, without a round trip (agents_by_token_).
    Now<std::optional<model::Agent>> authenticate_agent_now(const model::TokenHash& token_hash) override;
    Op<std::size_t> delete_agent(const model::Uuid& id) override;

    Op<std::array<std::size_t, 4>> task_count_by_status() override;
    Op<Stats> stats(std::chrono::microseconds seen_within) override;
    const Counters& counters() const override { return counters_; }
    std::optional<model::Error> unavailable() const override;

    // --- maintenance (server/postgres_maintenance runs these on every node; safe at once) ---
    // Releases running tasks whose lease ended at or before now, at most `max`; how many.
    Op<std::size_t> expire_leases(std::size_t max);
    // Drops completed and failed tasks last changed before `cutoff`, at most `max`, and
    // idempotency keys past their window; how many tasks.
    Op<std::size_t> purge_finished(model::Timestamp cutoff, std::size_t max);

    // Releases running tasks whose agent is gone, at most `max`; how many. A claim in flight
    // when its agent was deleted (CLAIM_SQL), or a node stopped between deleting an agent and
    // releasing its tasks, leaves such tasks.
    Op<std::size_t> release_orphaned(std::size_t max);
    // Of `tenants`, those with a claimable task; and, when `any`, the tenant of the oldest
    // claimable task. For the maintenance pass's look for waiters that slept through a notice.
    Op<std::vector<model::Uuid>> claimable_tenants(const std::vector<model::Uuid>& tenants, bool any);

private:
    // Writes `changed` over the task if its version is still `read_version`; false when another
    // change came first. Notifies when it is pending again.
    Op<bool> store_if_unchanged(const model::Task& changed, std::uint64_t read_version);
    // One statement on a connection of the pool; a failure of the database is the client's 503.
    Op<pg::Rows> run(const pg::Statement& statement, pg::Params params = {});
    Op<std::optional<model::Task>> read_task(const model::Uuid& id);
    // Releases the running tasks `find` answers (TASK_COLUMNS) for `reason`; how many.
    Op<std::size_t> release_found(const pg::Statement& find, pg::Params params, std::string_view reason);

    std::shared_ptr<pg::Pool> pool_;
    const model::Clock& clock_;
    Counters counters_;
    store::Store::Limits limits_;
    std::shared_ptr<PendingNotices> notices_;
    std::shared_ptr<DelayedWakeups> wakeups_;  // wakes waiters when a delayed task's time comes
    model::SharedClaimOrder shared_claim_order_ = model::SharedClaimOrder::oldest;
    // With fair: the tenant this node's last shared claim served; the next starts after it.
    mutable std::mutex fair_mutex_;
    model::Uuid last_fair_tenant_{};
    model::Uuid last_fair_tenant() const;
    void set_last_fair_tenant(const model::Uuid& tenant);
    // When this node last saw each agent, to the microsecond. The database is told at most once
    // a second per agent (a write per request would cost a commit each); reads of agents on this
    // node take the later of the two, so that last_seen_at moves with every request here (other
    // nodes see it up to a second late).
    mutable std::mutex seen_mutex_;
    std::unordered_map<model::Uuid, std::int64_t, store::UuidHash> seen_;
    void note_seen(model::Agent& agent);  // records agent's last_seen_at, or raises it to ours

    // Agents this node authenticated within the last second, by token: an agent's every request
    // authenticates, and asking the database each time cost a statement per request. An agent
    // deleted on another node may so go on for up to a second here, but it cannot claim (the
    // claim checks the agent in the database) and its released tasks no longer name it; the
    // node that deletes it forgets it at once.
    struct CachedAgent {
        model::Agent agent;
        std::chrono::steady_clock::time_point checked;
    };
    mutable std::mutex agents_mutex_;
    std::unordered_map<model::TokenHash, CachedAgent, store::TokenHashHash> agents_by_token_;
};

}  // namespace taskd::backend
