// The load engine: runs a Scenario's sessions on coroutines, open or closed loop, and measures.
//
// A run has two phases. Setup: every session's setup() (connect, register an agent), not
// measured. Load: every session's run(), until the duration is over or the operation budget
// (--requests) is spent. An operation is what the scenario counts as one unit of work: one HTTP
// request for `get`, create + claim + complete for `lifecycle`.
//
// Threads: each of `threads` threads runs its own io_context with the sessions i where
// i % threads == its index (no thread per connection, no strands, no locks on the hot path).
// Each thread records into its own RunStats; they are merged when the run ends.
//
// Open loop (rate > 0): operation k is due at t0 + k / rate, on whichever session is free
// (one schedule for the whole run). Its latency is measured from when it was due, not from when
// a connection got round to sending it, so a server that stalls is charged for every operation
// that should have started meanwhile (no coordinated omission, as in wrk2). Closed loop
// (rate == 0): each session starts its next operation when the previous one is answered.
//
// Only successful operations count as throughput and go into the latency histogram; a failure
// (non-2xx, wrong body, I/O error, timeout) is counted by kind and never as throughput.
#pragma once

#include "bench/histogram.hpp"
#include "client/watchdog.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace taskd::bench {

// The connections' watchdog lives in lib/client, shared with taskd-agent.
using client::SteadyClock;
using client::Watchdog;

enum class FailureKind { none, status, body, io, timeout };

// How one operation ended.
struct Outcome {
    FailureKind failure = FailureKind::none;
    unsigned status = 0;  // FailureKind::status: the HTTP status received
    std::string step;     // which request of the operation failed ("claim")
    std::string sample;   // what was wrong (part of the body); kept for the first failure of a kind
    unsigned requests = 1;
    // When set, the latency recorded instead of (now - when the operation was due): the longpoll
    // scenario measures from a task's creation to its claim.
    std::optional<SteadyClock::duration> latency;

    static Outcome ok(unsigned requests = 1) {
        Outcome o;
        o.requests = requests;
        return o;
    }
    bool is_ok() const { return failure == FailureKind::none; }
    // "HTTP 409", "body", "io", "timeout", prefixed by the step ("claim: HTTP 409").
    std::string key() const;
};

struct RunStats {
    Histogram latency_ns;
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::uint64_t requests = 0;  // every request sent, successful or not
    std::map<std::string, std::uint64_t> errors;
    std::map<std::string, std::string> error_samples;
    std::map<std::string, std::uint64_t> counters;  // scenario-specific: "empty_polls"
    SteadyClock::duration elapsed{};                // from start of load to the last answer

    void merge(const RunStats& other);
    double seconds() const { return std::chrono::duration<double>(elapsed).count(); }
    double ops_per_second() const { return seconds() > 0 ? static_cast<double>(ok) / seconds() : 0.0; }
};

struct Progress {
    SteadyClock::duration elapsed{};
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
};

struct LoadPlan {
    std::size_t connections = 64;
    unsigned threads = 1;
    std::optional<SteadyClock::duration> duration;
    std::optional<std::uint64_t> operations;  // the budget; with neither, the run never ends
    double rate = 0;                          // operations per second; 0 = closed loop
    SteadyClock::duration timeout = std::chrono::seconds{30};  // any one request
    // Called about once a second on the calling thread while the load runs.
    std::function<void(const Progress&)> on_progress;
};

class Worker;

// One connection's (or one agent's) share of a scenario.
class Session {
public:
    virtual ~Session() = default;
    // Connects, registers what it needs; throws std::runtime_error to abort the run.
    virtual boost::asio::awaitable<void> setup() { co_return; }
    virtual boost::asio::awaitable<void> run(Worker& worker) = 0;
};

// A session that repeats one operation on the run's schedule.
class ScheduledSession : public Session {
public:
    explicit ScheduledSession(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}
    boost::asio::awaitable<void> run(Worker& worker) final;

protected:
    virtual boost::asio::awaitable<Outcome> operation() = 0;

private:
    boost::asio::steady_timer timer_;
};

class Scenario {
public:
    virtual ~Scenario() = default;
    // Shared preparation before any session exists (tenants, a pre-filled queue); may run loads
    // of its own. Throws std::runtime_error when the system under test refuses.
    virtual void prepare(const LoadPlan&) {}
    // How many sessions the run needs: one per connection, unless the scenario adds its own.
    virtual std::size_t session_count(const LoadPlan& plan) const { return plan.connections; }
    virtual std::unique_ptr<Session> make_session(std::size_t index, Worker& worker) = 0;
    // After every session has ended: the scenario's own accounting into the merged stats.
    virtual void finish(RunStats&) {}
};

// What the engine shares between its threads.
struct RunShared {
    SteadyClock::time_point start;
    std::optional<SteadyClock::time_point> deadline;
    std::optional<std::uint64_t> budget;
    double interval_ns = 0;  // open loop: time between two operations; 0 = closed loop
    std::atomic<std::uint64_t> issued{0};
    std::atomic<std::uint64_t> started{0};  // open loop: slots handed out
    std::atomic<std::uint64_t> ok{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<bool> stop{false};  // abort whatever is in flight and start nothing new
};

// One thread's io_context, watchdog, sessions and statistics.
class Worker {
public:
    Worker(boost::asio::any_io_executor executor, RunShared& shared, SteadyClock::duration timeout);

    boost::asio::any_io_executor executor() const { return executor_; }
    Watchdog& watchdog() { return watchdog_; }
    RunStats& stats() { return stats_; }
    const RunShared& shared() const { return shared_; }

    // When the next operation is due (waiting on `timer` until then in open loop); nullopt when
    // the run is over: deadline passed, budget spent, or stopped.
    boost::asio::awaitable<std::optional<SteadyClock::time_point>> next_slot(boost::asio::steady_timer& timer);
    // The same without a coroutine frame: `wait` is set when the slot lies ahead and the caller
    // must wait on a timer until it is due (open loop).
    std::optional<SteadyClock::time_point> take_slot(bool& wait);
    // Records an operation that was due at `due`.
    void finish(SteadyClock::time_point due, const Outcome& outcome);
    void count(const std::string& counter, std::uint64_t n = 1) { stats_.counters[counter] += n; }
    void count_requests(std::uint64_t n) { stats_.requests += n; }
    // From any thread: end the run now; in-flight requests are aborted within a watchdog tick.
    void stop_everything() { shared_.stop.store(true, std::memory_order_relaxed); }
    bool stopping() const { return shared_.stop.load(std::memory_order_relaxed); }

    SteadyClock::time_point last_answer() const { return last_answer_; }

private:
    boost::asio::any_io_executor executor_;
    RunShared& shared_;
    Watchdog watchdog_;
    RunStats stats_;
    SteadyClock::time_point last_answer_{};
};

// Runs `scenario` under `plan`; throws std::runtime_error when preparation or setup fails or the
// plan has neither a duration nor an operation budget.
RunStats run_load(Scenario& scenario, const LoadPlan& plan);

}  // namespace taskd::bench
