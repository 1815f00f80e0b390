#include "bench/console_pollers.hpp"

#include "client/watchdog.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <list>

namespace taskd::bench {
namespace net = boost::asio;

namespace {
// A poll that takes longer than this is abandoned and counted failed.
constexpr auto kPollTimeout = std::chrono::seconds{10};
}  // namespace

struct ConsolePollers::State {
    explicit State(const Target& t) : target(t) {}
    const Target& target;
    net::io_context io{1};
    std::atomic<bool> stopping{false};
    client::Watchdog watchdog{io.get_executor(), kPollTimeout, stopping};
    struct Poller {
        Poller(net::io_context& io, const Target& target) : timer(io), connection(io.get_executor(), target.endpoint()) {}
        net::steady_timer timer;  // cancelled by stop()
        client::HttpConnection connection;  // watched: lives as long as the watchdog
    };
    std::list<Poller> pollers;
    std::size_t running = 0;  // pollers not yet returned; the last one stops the watchdog
    std::atomic<std::uint64_t> polls{0};
    std::atomic<std::uint64_t> failed{0};
};

namespace {

net::awaitable<void> poll(ConsolePollers::State& s, ConsolePollers::State::Poller& p, std::chrono::milliseconds offset) {
    std::string request;
    client::format_request(request, "GET", "/stats", s.target.host_header(), s.target.admin_token, {});
    client::HttpResponse response;
    // Consoles opened at different moments: spread over one interval, not in step.
    auto next = std::chrono::steady_clock::now() + offset;
    while (!s.stopping.load(std::memory_order_relaxed)) {
        p.timer.expires_at(next);
        co_await p.timer.async_wait(net::as_tuple(net::use_awaitable));
        if (s.stopping.load(std::memory_order_relaxed)) break;
        // A poll in flight at stop() is aborted by the watchdog's next tick (the stop flag).
        const auto outcome = co_await p.connection.exchange(request, response);
        if (s.stopping.load(std::memory_order_relaxed)) break;  // aborted by the stop: not a failure
        if (outcome == client::Transport::ok && response.status == 200) s.polls.fetch_add(1, std::memory_order_relaxed);
        else s.failed.fetch_add(1, std::memory_order_relaxed);
        next += ConsolePollers::kInterval;
    }
    if (--s.running == 0) s.watchdog.stop();
}

}  // namespace

ConsolePollers::ConsolePollers(const Target& target, std::size_t count) : state_(std::make_unique<State>(target)) {
    State& s = *state_;
    if (count == 0) return;
    for (std::size_t i = 0; i < count; ++i) {
        auto& p = s.pollers.emplace_back(s.io, target);
        s.watchdog.watch(p.connection);
        const auto offset = kInterval * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(count);
        net::co_spawn(s.io, poll(s, p, offset), net::detached);
    }
    s.running = count;
    net::co_spawn(s.io, s.watchdog.run(), net::detached);
    thread_ = std::thread([&s] { s.io.run(); });
}

ConsolePollers::~ConsolePollers() { stop(); }

ConsolePollers::Counts ConsolePollers::stop() {
    State& s = *state_;
    if (thread_.joinable()) {
        s.stopping.store(true);
        net::post(s.io, [&s] {
            for (auto& p : s.pollers) p.timer.cancel();
        });
        thread_.join();  // io.run() returns once every poller and the watchdog have returned
    }
    return counts();
}

ConsolePollers::Counts ConsolePollers::counts() const { return Counts{state_->polls.load(), state_->failed.load()}; }

}  // namespace taskd::bench
