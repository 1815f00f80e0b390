// pg::Pool: a bounded set of connections to one database, lent out one coroutine at a time.
//
// At most Options::size connections exist (open, opening, or lent); they are opened lazily,
// on demand. acquire() answers a Lease at once when a connection is idle; otherwise it opens one
// if the bound allows, or waits (suspended, on a timer) for a release, at most
// acquire_timeout, and then fails with a retryable Error that a caller maps to 503.
//
// A Lease gives its connection back on destruction. A broken connection is dropped instead,
// which frees its slot for a new one. An idle connection is checked (without waiting) as it is
// lent, so one the server ended while it sat idle (a restart) is dropped, not lent.
//
// When opening fails the pool is down: healthy() is false, last_error() says why, acquire()
// fails at once while no connection is open (no queueing behind a dead database), and a
// background loop retries with exponential backoff (backoff_min doubling up to backoff_max)
// until a connection opens; then the pool is healthy again by itself. Never a crash.
//
// Thread-safety: every member may be called from any thread. The pool is made by create() and
// shared: leases and the retry loop hold it. Call stop() at shutdown: it fails waiters, closes
// idle connections and ends the retry loop; connections still lent are closed on return.
#pragma once

#include "pg/connection.hpp"
#include "pg/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace taskd::pg {

class Pool;

class Lease {
public:
    Lease() = default;
    Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> connection)
        : pool_(std::move(pool)), connection_(std::move(connection)) {}
    ~Lease();
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }
    explicit operator bool() const { return connection_ != nullptr; }

private:
    std::shared_ptr<Pool> pool_;
    std::unique_ptr<Connection> connection_;
};

struct PoolOptions {
    std::size_t size = 4;  // connections; PostgreSQL's max_connections is shared by every node
    // How long acquire() waits for a busy pool before failing; a request's budget, not more.
    std::chrono::milliseconds acquire_timeout{std::chrono::seconds{5}};
    // Retry delays while the database is unreachable: short enough to notice a restart soon,
    // capped so that many nodes do not hammer a database that is coming up.
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{std::chrono::seconds{5}};
    ConnectionOptions connection;
    // Called when the pool goes down (false) or is healthy again (true), outside the pool's
    // lock, on whichever thread noticed; for logs, metrics and tests. Must not block.
    std::function<void(bool healthy)> on_health_change;
};

class Pool : public std::enable_shared_from_this<Pool> {
public:
    using Options = PoolOptions;

    struct Stats {
        std::size_t open = 0;     // open, opening or lent
        std::size_t idle = 0;
        std::size_t waiting = 0;  // acquire() calls waiting for a connection
    };

    static std::shared_ptr<Pool> create(boost::asio::any_io_executor executor, std::string conninfo,
                                        Options options = {});
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    boost::asio::awaitable<Result<Lease>> acquire();

    bool healthy() const;
    std::string last_error() const;  // why the pool is down; empty when healthy
    Stats stats() const;
    void stop();

private:
    friend class Lease;
    struct Waiter;
    struct Private {};

public:
    Pool(Private, boost::asio::any_io_executor executor, std::string conninfo, Options options);

private:
    void release(std::unique_ptr<Connection> connection);
    // Under mutex_: hands `connection` (or, when null, a freed slot) to the oldest waiter.
    std::shared_ptr<Waiter> wake_one_locked(std::unique_ptr<Connection>& connection);
    void notify(const std::shared_ptr<Waiter>& waiter);
    void opening_failed(const Error& error);
    boost::asio::awaitable<void> retry_loop(std::shared_ptr<Pool> self);

    boost::asio::any_io_executor executor_;
    // Waiter timers and the retry timer are touched only on this strand, so that a wake from
    // any thread can never race with the arming of a timer.
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    const std::string conninfo_;
    const Options options_;
    boost::asio::steady_timer retry_timer_;

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::deque<std::shared_ptr<Waiter>> waiters_;
    std::size_t open_ = 0;  // invariant: open_ <= options_.size
    bool down_ = false;     // the last attempt to open failed; retry_loop runs
    bool stopped_ = false;
    std::string last_error_;
};

}  // namespace taskd::pg
