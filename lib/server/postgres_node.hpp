// PostgresNode: what a taskd node runs when its store is PostgreSQL (--database-url) instead of
// memory and the journal: the connection pool and the backend over it, the schema brought up to
// date at start, the LISTEN connection that wakes this node's long polls for tasks made
// claimable on any node, and the maintenance pass (leases, retention) that every node runs.
//
// Start-up never gives up on an unreachable database: it retries with backoff and the node
// answers 503 (not ready) meanwhile. Only a schema newer than this binary stops the start.
//
// Thread-safety: start() and stop() from the thread that runs the server; the rest runs on the
// io_context.
#pragma once

#include "api/waiters.hpp"
#include "backend/postgres_backend.hpp"
#include "pg/listener.hpp"
#include "pg/pool.hpp"
#include "server/config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace taskd::server {

class PostgresNode {
public:
    PostgresNode(boost::asio::io_context& ioc, const Config& config, const model::Clock& clock);
    ~PostgresNode();

    backend::Backend& backend() { return backend_; }

    // Migrates, then listens and maintains; calls `ready` once the schema is current, or
    // `refused(why)` when the database's schema is newer than this binary knows.
    void start(api::Waiters& waiters, std::function<void()> ready, std::function<void(std::string)> refused);
    void stop();

    // The pool's and the listener's state for GET /metrics.
    void write_metrics(std::string& out) const;

private:
    boost::asio::awaitable<void> prepare_schema();
    boost::asio::awaitable<void> maintain();
    // Wakes a waiter of each tenant with claimable tasks: one that slept through a notice (see
    // backend/postgres_notices.hpp) looks again, and one that finds nothing waits on.
    boost::asio::awaitable<void> wake_sleepers();

    boost::asio::io_context& ioc_;
    const Config& config_;
    const model::Clock& clock_;
    std::shared_ptr<pg::Pool> pool_;
    backend::PostgresBackend backend_;
    mutable std::mutex listener_mutex_;  // listener_ is set on the io_context, read by metrics
    std::shared_ptr<pg::Listener> listener_;
    boost::asio::steady_timer timer_;  // backoff at start, then the maintenance interval
    api::Waiters* waiters_ = nullptr;
    std::function<void()> ready_;
    std::function<void(std::string)> refused_;
    std::atomic<bool> stopping_{false};
};

}  // namespace taskd::server
