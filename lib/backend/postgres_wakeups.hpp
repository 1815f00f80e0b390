// DelayedWakeups: wakes long polls when a delayed task (not_before, issue 23) becomes claimable.
//
// A task created with a not_before in the future is pending but not claimable; nothing changes
// in the database when its time comes, so no change sends its notice. The node that created it
// keeps (time, tenant) here and, on one steady_timer armed for the earliest, hands the tenant to
// PendingNotices when the time is reached: every node's waiters of that tenant are woken
// (NOTIFY; this node's too, through its own LISTEN), within a round trip of the time rather than
// at the next 1 s maintenance pass.
//
// What it gives up: a node that stops forgets its wake-ups; then the maintenance pass of any
// node (which looks for claimable tasks of waiting tenants every second) wakes the waiters, a
// second late at most. Nodes whose clocks run behind the creating node's may find the task not
// yet claimable when woken; they too are covered by the maintenance pass.
//
// Thread-safety: add() and stop() from any thread. Every use of the timer is under mutex_.
#pragma once

#include "backend/postgres_notices.hpp"
#include "model/time.hpp"
#include "model/uuid.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <mutex>

namespace taskd::backend {

class DelayedWakeups : public std::enable_shared_from_this<DelayedWakeups> {
public:
    DelayedWakeups(boost::asio::any_io_executor executor, const model::Clock& clock,
                   std::shared_ptr<PendingNotices> notices)
        : clock_(clock), notices_(std::move(notices)), timer_(std::move(executor)) {}

    // A task of `tenant` becomes claimable at `at` (committed already).
    void add(model::Timestamp at, const model::Uuid& tenant);
    // Forgets every wake-up and cancels the timer (shutdown).
    void stop();

private:
    // Sends the notices that are due and arms the timer for the next; under mutex_.
    void fire_due_locked();
    void arm_locked();

    const model::Clock& clock_;
    std::shared_ptr<PendingNotices> notices_;
    std::mutex mutex_;
    boost::asio::steady_timer timer_;
    std::multimap<model::Timestamp, model::Uuid> due_;  // by time: the timer waits for the first
    bool stopped_ = false;
};

}  // namespace taskd::backend
