// pg::Listener: LISTEN on one channel over a dedicated connection, for as long as it runs.
//
// It opens its own connection (not the pool's: a LISTENing session must stay open and idle),
// runs LISTEN <channel>, and calls on_notify(payload) for every NOTIFY on that channel, in
// arrival order. When the connection is lost, or cannot be opened, it retries with exponential
// backoff (backoff_min doubling to backoff_max) without end. on_listening(after_loss) is called
// each time LISTEN has taken effect: first with false, then with true after every loss, because
// notifications sent meanwhile are gone and the caller must look at the state it cares about.
//
// Thread-safety: the listener runs on a strand of its own; the callbacks are called there, one
// at a time, and must not block. stop() may be called from any thread; it takes effect on the
// strand, after which no callback starts. listening() and last_error() may be called from any
// thread. The listener keeps itself alive until stopped.
#pragma once

#include "pg/connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace taskd::pg {

struct ListenerOptions {
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{std::chrono::seconds{5}};
    ConnectionOptions connection;
};

class Listener : public std::enable_shared_from_this<Listener> {
public:
    using Options = ListenerOptions;
    using NotifyHandler = std::function<void(std::string_view payload)>;
    using ListeningHandler = std::function<void(bool after_loss)>;

    // Starts listening in the background and answers at once.
    static std::shared_ptr<Listener> start(boost::asio::any_io_executor executor, std::string conninfo,
                                           std::string channel, NotifyHandler on_notify,
                                           ListeningHandler on_listening = {}, Options options = {});
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void stop();
    bool listening() const { return listening_.load(); }
    std::string last_error() const;

private:
    struct Private {};

public:
    Listener(Private, boost::asio::any_io_executor executor, std::string conninfo, std::string channel,
             NotifyHandler on_notify, ListeningHandler on_listening, Options options);

private:
    boost::asio::awaitable<void> run(std::shared_ptr<Listener> self);

    boost::asio::strand<boost::asio::any_io_executor> strand_;
    const std::string conninfo_;
    const std::string channel_;
    NotifyHandler on_notify_;
    ListeningHandler on_listening_;
    const Options options_;
    // On the strand only:
    boost::asio::steady_timer retry_timer_;
    Connection* connection_ = nullptr;  // the one run() uses, for stop() to cancel its wait
    bool stopped_ = false;

    std::atomic<bool> listening_{false};
    mutable std::mutex error_mutex_;
    std::string last_error_;
};

}  // namespace taskd::pg
