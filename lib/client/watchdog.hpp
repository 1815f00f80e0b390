// Watchdog: bounds every network operation of one load thread without a timer per request.
//
// A connection marks itself busy for the length of one exchange (Watched::begin/end). The
// watchdog wakes every kTick and aborts any connection busy for longer than its timeout, or
// every busy connection once the run's shared stop flag is set (the end of a long-poll run,
// where agents wait in requests the server holds). The aborted operation completes with an
// error, which the scenario counts as a timeout. Arming a timer for each request (as
// beast::tcp_stream does) costs a timer-queue insert and cancel per request; this costs two
// stores of a time point.
//
// One watchdog per io_context thread; it and the connections it watches live on that thread.
// Only the stop flag is shared between threads.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <vector>

namespace taskd::client {

using SteadyClock = std::chrono::steady_clock;

// A connection the watchdog may abort.
class Watched {
public:
    virtual ~Watched() = default;
    void begin() { busy_since_ = SteadyClock::now(); }
    void end() { busy_since_ = {}; }
    bool busy() const { return busy_since_ != SteadyClock::time_point{}; }
    SteadyClock::time_point busy_since() const { return busy_since_; }
    bool timed_out() const { return timed_out_; }
    void clear_timed_out() { timed_out_ = false; }
    // A bound of this connection's own instead of the watchdog's (zero: the watchdog's). The
    // agent's long poll waits up to 60 s by design; its reports should not wait that long.
    void set_timeout(SteadyClock::duration timeout) { timeout_ = timeout; }
    SteadyClock::duration timeout() const { return timeout_; }
    // Cancels what is in progress (by closing the socket) and remembers that it was us.
    void abort_now() {
        timed_out_ = true;
        abort();
    }

protected:
    virtual void abort() = 0;

private:
    SteadyClock::time_point busy_since_{};
    SteadyClock::duration timeout_{};
    bool timed_out_ = false;
};

class Watchdog {
public:
    // Granularity of timeouts; also how late a stop takes effect.
    static constexpr auto kTick = std::chrono::milliseconds{100};

    // `stop_all` is read on every tick: once true, every busy connection is aborted.
    Watchdog(boost::asio::any_io_executor executor, SteadyClock::duration timeout, const std::atomic<bool>& stop_all);

    void watch(Watched& w) { watched_.push_back(&w); }
    // Runs until stop(); co_spawn it on the watched connections' executor. rearm() before each
    // run() after the first.
    boost::asio::awaitable<void> run();
    void stop();
    void rearm() { stopped_ = false; }

private:
    boost::asio::steady_timer timer_;
    SteadyClock::duration timeout_;
    const std::atomic<bool>& stop_all_;
    std::vector<Watched*> watched_;
    bool stopped_ = false;
};

}  // namespace taskd::client
