// Backend: where tasks, agents and idempotency keys live, as the API sees it.
//
// Two implementations, and no handler knows which one it has:
//   MemoryBackend    the in-memory store with its journal (the default: one node, data in
//                    --data-dir);
//   PostgresBackend  PostgreSQL (--database-url: any number of nodes on one database).
//
// Every method is a coroutine that completes once its change is durable (journaled and synced,
// or committed by the database), so that a handler answers 2xx only for what survives a kill.
// The rules of each operation (API.md: transitions, leases, isolation, idempotency) are the
// same in both; the store-level documentation in store/store.hpp is the reference.
//
// Thread-safety: every method may be called from any thread of the server's io_context, by
// any number of coroutines at once.
#pragma once

#include "model/agent.hpp"
#include "model/errc.hpp"
#include "model/task.hpp"
#include "model/transition.hpp"
#include "store/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace taskd::backend {

template <class T>
using Op = boost::asio::awaitable<model::Result<T>>;
// A read's answer when the backend has it without waiting; nullopt: await the coroutine.
template <class T>
using Now = std::optional<model::Result<T>>;

using Stats = store::Store::Stats;
using Counters = store::Store::Counters;

class Backend {
public:
    virtual ~Backend() = default;

    // --- tasks ---
    virtual Op<store::Created> create_task(store::NewTask input) = 0;
    virtual Op<std::optional<model::Task>> find_task(const model::Uuid& id) = 0;
    virtual Op<model::Task> patch_task(const model::Uuid& id, const model::Patch& patch,
                                       const std::optional<model::Agent>& agent) = 0;
    // The claimable task `agent` may take first (highest priority, then oldest; a shared agent
    // under --shared-claim-order fair: of the next tenant in turn), now running under it;
    // nullopt when none.
    virtual Op<std::optional<model::Task>> claim(const model::Agent& agent) = 0;
    // Calls `visit` for up to `limit` tasks matching `filter`, newest first, strictly after
    // `after`; true when more remain. `visit` must not call back into the backend.
    virtual Op<bool> list_tasks(const store::TaskFilter& filter, const std::optional<store::TaskKey>& after,
                                std::size_t limit, const std::function<void(const model::Task&)>& visit) = 0;

    // --- agents ---
    virtual Op<model::Agent> register_agent(std::string name, std::optional<model::Uuid> tenant_id,
                                            const model::TokenHash& token_hash) = 0;
    virtual Op<std::optional<model::Agent>> find_agent(const model::Uuid& id) = 0;
    virtual Op<std::vector<model::Agent>> list_agents() = 0;  // newest first
    // The agent whose token hashes to `token_hash` (nullopt: none); marks it seen.
    virtual Op<std::optional<model::Agent>> authenticate_agent(const model::TokenHash& token_hash) = 0;
    // How many running tasks deleting the agent released.
    virtual Op<std::size_t> delete_agent(const model::Uuid& id) = 0;

    // --- operations ---
    virtual Op<std::array<std::size_t, 4>> task_count_by_status() = 0;
    virtual Op<Stats> stats(std::chrono::microseconds seen_within) = 0;
    // Events counted by this process (GET /metrics).
    virtual const Counters& counters() const = 0;
    // Why changes cannot be made now (GET /readyz answers 503 with it); nullopt: they can.
    virtual std::optional<model::Error> unavailable() const = 0;

    // --- hot-path reads answered at once ---
    // The same answers as find_task() and authenticate_agent(), given without a coroutine when
    // the backend has them at once (the in-memory store; PostgreSQL for an agent token it checked
    // within the last second); nullopt when they must be awaited (any other PostgreSQL read), and
    // the caller then awaits the coroutine. A handler uses both in turn and
    // never learns which backend answered.
    // Why: a coroutine frame costs some 300 instructions, and these reads are on the busiest
    // requests. With them (and the smaller handler frames of api/task_routes.cpp), GET
    // /tasks/{id} went from 14,848 to 14,230-14,440 instructions; 14,100-14,180 before this
    // interface had coroutines (bench/instructions.sh TASKD TASKD_BENCH get 2000
    // --access-log=false; runs vary by some 200 on a busy machine).
    virtual Now<std::optional<model::Task>> find_task_now(const model::Uuid& /*id*/) { return std::nullopt; }
    virtual Now<std::optional<model::Agent>> authenticate_agent_now(const model::TokenHash& /*token_hash*/) {
        return std::nullopt;
    }
};

}  // namespace taskd::backend
