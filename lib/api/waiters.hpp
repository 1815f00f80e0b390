// Waiters: the long polls (GET /tasks/next?wait=N) waiting for a task they may claim.
//
// A waiter is a suspended request, not a blocked thread: a steady_timer on its connection's
// strand that the request awaits until its deadline. When a task becomes claimable for a
// tenant, notify() wakes ONE waiter that may take it — the one waiting longest among that
// tenant's agents and the shared agents — by cancelling its timer on its own strand; a
// thundering herd of claims for one task would be waste. A woken waiter that does not take a
// task of the tenant it was woken for (its client went away, or it took an older task of
// another tenant) passes the notice on (notify again), so a task is never swallowed.
//
// At most `max_waiters` wait at once (--max-waiters): every waiter is an open connection and a
// timer. Thread-safety: every method may be called from any thread.
#pragma once

#include "model/uuid.hpp"
#include "store/task_key.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace taskd::api {

class Waiters {
public:
    struct Waiter {
        Waiter(boost::asio::any_io_executor executor, const model::Uuid& for_agent,
               std::optional<model::Uuid> for_tenant)
            : timer(std::move(executor)), agent(for_agent), tenant(for_tenant) {}
        boost::asio::steady_timer timer;            // touched only on its own executor
        const model::Uuid agent;                    // whose long poll this is
        const std::optional<model::Uuid> tenant;    // the agent's tenant; nullopt: a shared agent
        std::uint64_t order = 0;                    // registration order, for fairness
        std::optional<model::Uuid> woken_for;       // set by notify(), under the registry's lock
        bool registered = false;
        std::list<std::shared_ptr<Waiter>>::iterator position;
    };

    explicit Waiters(std::size_t max_waiters) : max_waiters_(max_waiters) {}

    // A new waiter for `agent`, of `tenant` (nullopt: shared); nullptr when max_waiters are
    // already waiting or the server is stopping.
    std::shared_ptr<Waiter> add(const boost::asio::any_io_executor& executor, const model::Uuid& agent,
                                const std::optional<model::Uuid>& tenant);
    // Unregisters the waiter if it still is; returns the tenant it was woken for, if it was.
    std::optional<model::Uuid> remove(const std::shared_ptr<Waiter>& waiter);
    // True once notify() or stop() has picked this waiter. Checked on the waiter's strand just
    // before it waits: a wake-up posted after the check cancels the wait that follows it.
    bool woken(const std::shared_ptr<Waiter>& waiter) const;
    // Wakes the longest waiting waiter that may claim a task of `tenant`, if any.
    void notify(const model::Uuid& tenant);
    // Wakes every waiter of `agent`, with no task to pass on: once the agent is deleted, its
    // long polls find its token dead and answer 401 at once instead of at their deadline.
    // Scans every waiter (at most max_waiters): deleting an agent is rare.
    void wake_agent(const model::Uuid& agent);
    // Wakes every waiter, with no task to pass on, to look again: when notices may have been
    // missed (the database's LISTEN connection was lost meanwhile).
    void wake_all();
    // Wakes every waiter and refuses new ones: at shutdown, long polls answer null.
    void stop();
    bool stopping() const { return stopping_.load(std::memory_order_acquire); }
    std::size_t count() const;

    // Who waits: the tenants whose agents wait, and whether a shared agent does.
    struct Waiting {
        std::vector<model::Uuid> tenants;
        bool shared = false;
    };
    Waiting waiting() const;

private:
    using List = std::list<std::shared_ptr<Waiter>>;
    List& list_of(const std::optional<model::Uuid>& tenant);
    static void wake(const std::shared_ptr<Waiter>& waiter);
    // Unregisters and wakes every waiter `which` picks (scans all of them).
    void wake_if(const std::function<bool(const Waiter&)>& which);

    const std::size_t max_waiters_;
    mutable std::mutex mutex_;
    std::unordered_map<model::Uuid, List, store::UuidHash> by_tenant_;
    List shared_;
    std::size_t count_ = 0;
    std::uint64_t next_order_ = 0;
    std::atomic<bool> stopping_{false};
};

}  // namespace taskd::api
