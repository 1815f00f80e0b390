#include "server/delay_timer.hpp"

#include <algorithm>
#include <chrono>

namespace taskd::server {

void DelayTimer::arm(model::Timestamp at) {
    std::lock_guard lock(mutex_);
    if (stopped_ || (armed_ && *armed_ <= at)) return;
    arm_locked(at);
}

void DelayTimer::stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    armed_.reset();
    timer_.cancel();
}

void DelayTimer::arm_locked(model::Timestamp at) {
    armed_ = at;
    // Setting the expiry cancels the wait for a later time (its handler sees operation_aborted).
    timer_.expires_after(std::max(std::chrono::microseconds{0}, at - clock_.now()));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) fired();
    });
}

void DelayTimer::fired() {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        armed_.reset();
    }
    store_.release_due();  // outside the lock: it takes the store's, and wakes waiters
    const auto next = store_.next_due();
    std::lock_guard lock(mutex_);
    if (next && !stopped_ && (!armed_ || *next < *armed_)) arm_locked(*next);
}

}  // namespace taskd::server
