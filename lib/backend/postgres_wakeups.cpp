#include "backend/postgres_wakeups.hpp"

#include <algorithm>
#include <vector>

namespace taskd::backend {

void DelayedWakeups::add(model::Timestamp at, const model::Uuid& tenant) {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    const bool earliest = due_.empty() || at < due_.begin()->first;
    due_.emplace(at, tenant);
    if (earliest) arm_locked();
}

void DelayedWakeups::stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    due_.clear();
    timer_.cancel();
}

void DelayedWakeups::arm_locked() {
    if (due_.empty()) return;
    // The database's times are the Clock's; the timer runs on the steady clock: wait for the
    // difference, then check against the Clock again (fire_due_locked), so that a timer that
    // fires a little early only re-arms.
    const auto wait = due_.begin()->first - clock_.now();
    timer_.expires_after(std::max(wait, decltype(wait){0}));
    // A weak pointer: the backend owns this object, and a timer that outlives it does nothing.
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: re-armed for an earlier time, or stopped
        if (auto self = weak.lock()) {
            std::lock_guard lock(self->mutex_);
            if (!self->stopped_) self->fire_due_locked();
        }
    });
}

void DelayedWakeups::fire_due_locked() {
    const auto now = clock_.now();
    while (!due_.empty() && due_.begin()->first <= now) {
        notices_->add(due_.begin()->second);
        due_.erase(due_.begin());
    }
    arm_locked();
}

}  // namespace taskd::backend
