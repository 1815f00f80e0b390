#include "client/watchdog.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace taskd::client {

Watchdog::Watchdog(boost::asio::any_io_executor executor, SteadyClock::duration timeout,
                   const std::atomic<bool>& stop_all)
    : timer_(std::move(executor)), timeout_(timeout), stop_all_(stop_all) {}

boost::asio::awaitable<void> Watchdog::run() {
    while (!stopped_) {
        timer_.expires_after(kTick);
        co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (stopped_) break;
        const auto now = SteadyClock::now();
        const bool all = stop_all_.load(std::memory_order_relaxed);
        for (Watched* w : watched_) {
            const auto limit = w->timeout() == SteadyClock::duration::zero() ? timeout_ : w->timeout();
            if (w->busy() && (all || now - w->busy_since() > limit)) w->abort_now();
        }
    }
}

void Watchdog::stop() {
    stopped_ = true;
    timer_.cancel();
}

}  // namespace taskd::client
