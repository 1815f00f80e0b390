// DelayTimer: makes the embedded store's delayed tasks (not_before, issue 23) claimable at
// their time, and wakes the long polls waiting for their tenants.
//
// One steady_timer, armed for the earliest time the store has (Store::next_due), and again for
// a task created with an earlier one (Store::set_on_delayed). When it fires the store moves the
// due tasks into its claim queues and tells their tenants' waiters (Store::release_due); then
// the timer is armed for the next. A claim does not wait for it: one that finds a due time
// passed releases the tasks itself. Waits are computed from the server's clock (model::Clock).
//
// Thread-safety: arm() and stop() from any thread; the timer is used under mutex_.
#pragma once

#include "model/time.hpp"
#include "store/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <mutex>
#include <optional>

namespace taskd::server {

class DelayTimer {
public:
    DelayTimer(boost::asio::any_io_executor executor, store::Store& store, const model::Clock& clock)
        : store_(store), clock_(clock), timer_(std::move(executor)) {}

    // A delayed task is due at `at`: fire then, unless the timer is armed for earlier already.
    void arm(model::Timestamp at);
    // No more firing (shutdown): the timer's wait would keep the io_context running.
    void stop();

private:
    void arm_locked(model::Timestamp at);
    void fired();

    store::Store& store_;
    const model::Clock& clock_;
    std::mutex mutex_;
    boost::asio::steady_timer timer_;
    std::optional<model::Timestamp> armed_;  // the time the pending wait is for
    bool stopped_ = false;
};

}  // namespace taskd::server
