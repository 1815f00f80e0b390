#include "pg/pool.hpp"

#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace taskd::pg {

namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

// One acquire() waiting for a connection. `woken` and `connection` are under the pool's mutex;
// `timer` is touched only on the pool's strand.
struct Pool::Waiter {
    explicit Waiter(const asio::strand<asio::any_io_executor>& strand) : timer(strand) {}
    asio::steady_timer timer;
    std::unique_ptr<Connection> connection;  // handed over; null when woken to retry
    bool woken = false;
};

Lease::~Lease() {
    if (pool_ && connection_) pool_->release(std::move(connection_));
}

Lease& Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        if (pool_ && connection_) pool_->release(std::move(connection_));
        pool_ = std::move(other.pool_);
        connection_ = std::move(other.connection_);
    }
    return *this;
}

std::shared_ptr<Pool> Pool::create(asio::any_io_executor executor, std::string conninfo, Options options) {
    return std::make_shared<Pool>(Private{}, std::move(executor), std::move(conninfo), options);
}

Pool::Pool(Private, asio::any_io_executor executor, std::string conninfo, Options options)
    : executor_(std::move(executor)),
      strand_(asio::make_strand(executor_)),
      conninfo_(std::move(conninfo)),
      options_(options),
      retry_timer_(strand_) {
    if (options_.size == 0) throw std::invalid_argument("pg::Pool: size must be at least 1");
}

Pool::~Pool() = default;

awaitable<Result<Lease>> Pool::acquire() {
    auto self = shared_from_this();
    const auto deadline = Clock::now() + options_.acquire_timeout;
    for (;;) {
        std::unique_ptr<Connection> connection;
        bool open_new = false;
        std::shared_ptr<Waiter> waiter;
        {
            std::lock_guard lock(mutex_);
            if (stopped_) co_return Error{"", "the database pool is stopped", false};
            if (!idle_.empty()) {
                connection = std::move(idle_.back());
                idle_.pop_back();
            } else if (down_ && open_ == 0) {
                // Nothing open and nothing opens: fail now rather than queue behind a dead database.
                co_return Error{"", "database unavailable: " + last_error_, true};
            } else if (!down_ && open_ < options_.size) {
                ++open_;
                open_new = true;
            } else {
                waiter = std::make_shared<Waiter>(strand_);
                waiters_.push_back(waiter);
            }
        }

        if (open_new) {
            auto opened = co_await Connection::open(executor_, conninfo_, options_.connection);
            if (opened) {
                std::lock_guard lock(mutex_);
                if (!stopped_) co_return Lease(self, std::move(*opened));
            }
            {
                std::lock_guard lock(mutex_);
                --open_;
            }
            if (!opened) {
                opening_failed(opened.error());
                co_return opened.error();
            }
            continue;  // stopped meanwhile: the loop says so
        }

        if (waiter) {
            // The timer is armed on the strand, where wakes cancel it, after checking `woken`: a
            // wake either comes before the check (no wait at all) or cancels the armed timer.
            // Raw pointers: `waiter` outlives the wait. A shared_ptr captured in this lambda (a
            // temporary of the co_await expression) was released once too often under GCC 12.2:
            // ASan saw the Waiter freed while still in use.
            auto token = asio::as_tuple(asio::use_awaitable);
            Waiter* const w = waiter.get();
            Pool* const pool = this;
            co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(
                [pool, w, deadline](auto handler) {
                    asio::dispatch(pool->strand_, [pool, w, deadline, handler = std::move(handler)]() mutable {
                        bool woken;
                        {
                            std::lock_guard lock(pool->mutex_);
                            woken = w->woken;
                        }
                        // Already woken: complete at once, through the timer, so that the
                        // coroutine resumes on its own executor like any completion.
                        w->timer.expires_at(woken ? Clock::now() : deadline);
                        w->timer.async_wait(std::move(handler));
                    });
                },
                token);
            std::lock_guard lock(mutex_);
            if (!waiter->woken) {
                waiters_.erase(std::find(waiters_.begin(), waiters_.end(), waiter));
                co_return Error{"", "no database connection free within " +
                                        std::to_string(options_.acquire_timeout.count()) + " ms",
                                false};
            }
            connection = std::move(waiter->connection);
            if (!connection) continue;  // a slot was freed: try again
        }

        // From idle_ or handed over: lend it unless the server ended it meanwhile.
        if (connection->check_alive()) co_return Lease(self, std::move(connection));
        {
            std::lock_guard lock(mutex_);
            --open_;
        }
        connection.reset();
    }
}

std::shared_ptr<Pool::Waiter> Pool::wake_one_locked(std::unique_ptr<Connection>& connection) {
    if (waiters_.empty()) return nullptr;
    auto waiter = std::move(waiters_.front());
    waiters_.pop_front();
    waiter->woken = true;
    waiter->connection = std::move(connection);
    return waiter;
}

void Pool::notify(const std::shared_ptr<Waiter>& waiter) {
    if (!waiter) return;
    asio::post(strand_, [waiter] { waiter->timer.cancel(); });
}

void Pool::release(std::unique_ptr<Connection> connection) {
    std::unique_ptr<Connection> dropped;
    std::shared_ptr<Waiter> waiter;
    {
        std::lock_guard lock(mutex_);
        // Broken, or stopped amid a command (its lease's coroutine was destroyed), or left in a
        // transaction: not fit for the next user.
        if (stopped_ || !connection->reusable()) {
            dropped = std::move(connection);
            --open_;
        }
        waiter = wake_one_locked(connection);  // the connection, or the freed slot
        if (connection) idle_.push_back(std::move(connection));
    }
    notify(waiter);
    // `dropped` is closed here, outside the lock (PQfinish writes a goodbye to the socket).
}

void Pool::opening_failed(const Error& error) {
    std::deque<std::shared_ptr<Waiter>> waiters;
    bool start_retry = false;
    {
        std::lock_guard lock(mutex_);
        last_error_ = error.message;
        if (!down_ && !stopped_) {
            down_ = true;
            start_retry = true;
        }
        // Let every waiter look again: with nothing open it fails at once instead of waiting out
        // its timeout for a release that cannot come.
        for (auto& w : waiters_) w->woken = true;
        waiters.swap(waiters_);
    }
    for (const auto& w : waiters) notify(w);
    if (start_retry) {
        util::log_warn("postgresql: " + error.message + "; retrying in the background");
        if (options_.on_health_change) options_.on_health_change(false);
        asio::co_spawn(strand_, retry_loop(shared_from_this()), asio::detached);
    }
}

awaitable<void> Pool::retry_loop([[maybe_unused]] std::shared_ptr<Pool> self) {
    auto delay = options_.backoff_min;
    for (;;) {
        retry_timer_.expires_after(delay);
        co_await retry_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        delay = std::min(delay * 2, options_.backoff_max);
        bool back = false;
        {
            std::lock_guard lock(mutex_);
            if (stopped_) co_return;
            if (open_ >= options_.size) {
                // Every slot is taken by connections that still work: the database is back.
                down_ = false;
                last_error_.clear();
                back = true;
            } else {
                ++open_;
            }
        }
        if (back) {
            if (options_.on_health_change) options_.on_health_change(true);
            co_return;
        }
        auto opened = co_await Connection::open(executor_, conninfo_, options_.connection);
        std::unique_ptr<Connection> connection;
        std::shared_ptr<Waiter> waiter;
        {
            std::lock_guard lock(mutex_);
            if (!opened) {
                --open_;
                last_error_ = opened.error().message;
                util::log_debug("postgresql: still unavailable: " + last_error_);
                continue;
            }
            down_ = false;
            last_error_.clear();
            connection = std::move(*opened);
            if (stopped_) {
                --open_;
            } else {
                waiter = wake_one_locked(connection);
                if (connection) idle_.push_back(std::move(connection));
            }
        }
        util::log_info("postgresql: available again");
        notify(waiter);
        if (options_.on_health_change) options_.on_health_change(true);
        co_return;
    }
}

bool Pool::healthy() const {
    std::lock_guard lock(mutex_);
    return !down_ && !stopped_;
}

std::string Pool::last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

Pool::Stats Pool::stats() const {
    std::lock_guard lock(mutex_);
    return Stats{open_, idle_.size(), waiters_.size()};
}

void Pool::stop() {
    std::vector<std::unique_ptr<Connection>> idle;
    std::deque<std::shared_ptr<Waiter>> waiters;
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        open_ -= idle_.size();
        idle.swap(idle_);
        for (auto& w : waiters_) w->woken = true;
        waiters.swap(waiters_);
    }
    for (const auto& w : waiters) notify(w);
    asio::post(strand_, [self = shared_from_this()] { self->retry_timer_.cancel(); });
}

}  // namespace taskd::pg
