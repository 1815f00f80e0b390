// What the PostgreSQL tests share: one cluster for the suite (initdb costs seconds), a fresh
// database per test, an io_context on two threads, and bounded waits for coroutines and events.
//
// Boost.Test is not thread-safe, so assertions stay on the test's own thread: coroutines run on
// the io threads and hand their results back through run() (a future) or an Events queue.
#pragma once

#include "postgres_cluster.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace taskd::test {

// Every wait of these tests: far beyond what a healthy run needs (a loaded, sanitized
// 2-core machine included), so that reaching it means a hang, reported as a failure.
inline constexpr std::chrono::seconds kBound{60};

PostgresCluster& shared_cluster();
// A database of its own for the running test, on the shared cluster; answers its URL.
std::string fresh_database(PostgresCluster& cluster = shared_cluster());

class IoThreads {
public:
    explicit IoThreads(int threads = 2);
    ~IoThreads();
    IoThreads(const IoThreads&) = delete;
    IoThreads& operator=(const IoThreads&) = delete;
    boost::asio::any_io_executor executor() { return io_.get_executor(); }

    // Runs `task` on the io threads and answers its result; fails the test past `bound`.
    template <class T>
    T run(boost::asio::awaitable<T> task, std::chrono::seconds bound = kBound) {
        auto future = boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
        if (future.wait_for(bound) != std::future_status::ready) {
            BOOST_FAIL("a coroutine did not finish within " << bound.count() << " s");
        }
        return future.get();
    }

private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
};

// Things that happen on the io threads (a notification, a reconnect), for the test thread to
// wait for, each wait bounded. Declare it before the IoThreads whose callbacks push to it, so
// that it outlives them.
template <class T>
class Events {
public:
    void push(T value) {
        std::lock_guard lock(mutex_);
        items_.push_back(std::move(value));
        changed_.notify_all();
    }
    // The next event, or nullopt after `bound`.
    std::optional<T> next(std::chrono::seconds bound = kBound) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, bound, [&] { return !items_.empty(); })) return std::nullopt;
        T value = std::move(items_.front());
        items_.pop_front();
        return value;
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return items_.size();
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<T> items_;
};

}  // namespace taskd::test
