#include "agent/agent.hpp"

#include "agent/backoff.hpp"
#include "agent/confinement.hpp"
#include "agent/executor.hpp"
#include "client/http_connection.hpp"
#include "client/tls_client_context.hpp"
#include "client/watchdog.hpp"
#include "model/uuid.hpp"
#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <variant>
#include <unistd.h>

namespace taskd::agent {
namespace net = boost::asio;
namespace json = boost::json;
using client::HttpConnection;
using client::HttpResponse;
using client::SteadyClock;
using client::Transport;

namespace {

constexpr auto kToken = net::as_tuple(net::use_awaitable);
// Heartbeats more often than this would be noise, whatever the lease.
constexpr auto kMinHeartbeat = std::chrono::milliseconds{100};
constexpr std::size_t kMaxTaskDepth = 1024;
// The lease a task has when the server does not say (API.md's default).
constexpr std::int64_t kDefaultLeaseSeconds = 300;
// API.md's largest lease; a larger claim from a misbehaving server must not overflow the interval.
constexpr std::int64_t kMaxLeaseSeconds = 86400;

std::string short_body(const std::string& body) { return body.size() > 300 ? body.substr(0, 300) + "..." : body; }

struct Task {
    std::string id;
    std::string type;
    json::value payload;
    std::int64_t lease_seconds = kDefaultLeaseSeconds;
};

// The claimed task in a 200 answer: nullopt for `null`; an error text for anything unusable.
std::variant<std::nullopt_t, Task, std::string> parse_claim(const std::string& body) {
    boost::system::error_code ec;
    // The server accepts payloads nested as deep as its --max-json-depth (32 by default); the
    // task around a payload adds a level. Past this bound the task could be claimed and never
    // reported, so it is far above any server setting.
    json::parse_options options;
    options.max_depth = kMaxTaskDepth;
    json::value v = json::parse(body, ec, {}, options);
    if (ec) return "not JSON: " + short_body(body);
    if (v.is_null()) return std::nullopt;
    auto* o = v.if_object();
    const auto* id = o ? o->if_contains("id") : nullptr;
    const auto* type = o ? o->if_contains("type") : nullptr;
    if (!id || !id->is_string() || !model::parse_uuid(id->get_string()) || !type || !type->is_string())
        return "not a task: " + short_body(body);
    Task t;
    t.id = std::string(id->get_string());
    t.type = std::string(type->get_string());
    if (const auto* p = o->if_contains("payload")) t.payload = *p;
    if (const auto* l = o->if_contains("lease_seconds"); l && l->is_int64() && l->get_int64() > 0)
        t.lease_seconds = std::min<std::int64_t>(l->get_int64(), kMaxLeaseSeconds);
    return t;
}

class Agent;

// A task on the pool: done and outcome are touched only on the io thread.
struct Execution {
    explicit Execution(net::any_io_executor ex) : timer(ex) {}
    net::steady_timer timer;
    bool done = false;
    std::optional<Outcome<json::object>> outcome;
};

// One slot: a connection, the buffers it reuses, a timer for its waits.
struct Slot {
    Slot(net::any_io_executor ex, const net::ip::tcp::endpoint& ep, const client::TlsTarget* tls)
        : connection(ex, ep, tls), timer(ex) {}
    HttpConnection connection;
    net::steady_timer timer;
    std::string request;
    HttpResponse response;
    bool claiming = false;
    std::shared_ptr<Execution> running;  // the task being executed, if any
};

class Agent {
public:
    // `tls`: the server's TLS target for an https:// server, else null; it outlives the agent.
    Agent(const Config& config, const Roots& roots, net::io_context& ioc, net::ip::tcp::endpoint endpoint,
          const client::TlsTarget* tls)
        : config_(config),
          executor_(roots, config.executor),
          ioc_(ioc),
          pool_(config.concurrency),
          watchdog_(ioc.get_executor(), config.request_timeout, never_),
          signals_(ioc, SIGTERM, SIGINT),
          deadline_(ioc),
          host_header_(config.host + ":" + std::to_string(config.port)) {
        for (unsigned i = 0; i < config.concurrency; ++i) {
            slots_.push_back(std::make_unique<Slot>(ioc.get_executor(), endpoint, tls));
            watchdog_.watch(slots_.back()->connection);
        }
    }

    int run() {
        signals_.async_wait([this](boost::system::error_code ec, int sig) {
            if (!ec) shutdown(sig);
        });
        net::co_spawn(ioc_, watchdog_.run(), net::detached);
        running_slots_ = slots_.size();
        for (auto& s : slots_) {
            // A slot that ended by an exception (none is expected: every failure is a value)
            // is logged and counted down all the same, so that a shutdown still completes.
            net::co_spawn(ioc_, slot(*s), [this](std::exception_ptr e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        util::log_error(std::string("a slot stopped on an exception: ") + x.what());
                    } catch (...) {
                        util::log_error("a slot stopped on an exception");
                    }
                }
                if (--running_slots_ == 0) finish();
            });
        }
        ioc_.run();
        pool_.join();
        return undelivered_ == 0 ? 0 : 1;
    }

private:
    std::string target(std::string_view rest) const { return config_.base_path + std::string(rest); }

    net::awaitable<void> pause(Slot& s, std::chrono::milliseconds d) {
        s.timer.expires_after(d);
        co_await s.timer.async_wait(kToken);
    }

    // One request; `why` says what went wrong when it did not get an answer.
    net::awaitable<bool> exchange(Slot& s, std::string_view method, const std::string& path, std::string_view body,
                                  SteadyClock::duration timeout, std::string& why) {
        client::format_request(s.request, method, path, host_header_, config_.token, body);
        s.connection.set_timeout(timeout);
        const Transport t = co_await s.connection.exchange(s.request, s.response);
        if (t == Transport::ok) co_return true;
        why = t == Transport::timed_out ? "no answer in time" : s.connection.error_text();
        co_return false;
    }

    net::awaitable<void> slot(Slot& s) {
        Backoff backoff(config_.backoff_max);
        const std::string claim = target("/tasks/next?agent_id=" + config_.agent_id +
                                         "&wait=" + std::to_string(config_.poll_wait.count() / 1000));
        while (!stopping_) {
            std::string why;
            s.claiming = true;
            const bool answered =
                co_await exchange(s, "GET", claim, {}, config_.poll_wait + config_.request_timeout, why);
            s.claiming = false;
            if (answered && s.response.status == 200) {
                auto claimed = parse_claim(s.response.body);
                if (auto* task = std::get_if<Task>(&claimed)) {
                    backoff.reset();
                    co_await handle(s, std::move(*task));
                    continue;
                }
                if (auto* bad = std::get_if<std::string>(&claimed)) {
                    util::log_error("claim answered 200 with " + *bad);
                } else if (config_.poll_wait.count() > 0) {
                    backoff.reset();
                    continue;  // null after a long poll: nothing to do for now; poll again at once
                } else {
                    // Without a long poll a null comes at once: polling again at once would spin.
                    co_await pause(s, backoff.next());
                    continue;
                }
            }
            if (stopping_) break;
            const auto wait = backoff.next();
            if (!answered)
                util::log_warn("cannot reach the server at " + config_.server_url + " (" + why + "); retrying in " +
                               std::to_string(wait.count()) + "ms");
            else if (s.response.status != 200)
                util::log_warn("claim answered " + std::to_string(s.response.status) + " " +
                               short_body(s.response.body) + "; retrying in " + std::to_string(wait.count()) + "ms");
            co_await pause(s, wait);
        }
    }

    net::awaitable<void> handle(Slot& s, Task task) {
        const std::string who = "task " + task.id + " (" + task.type + ")";
        util::log_info(who + ": claimed");
        auto exec = std::make_shared<Execution>(ioc_.get_executor());
        s.running = exec;
        net::post(pool_, [this, exec, type = task.type, payload = std::move(task.payload)] {
            auto outcome = executor_.run(type, payload, &cancel_);
            net::post(ioc_, [exec, outcome = std::move(outcome)]() mutable {
                exec->outcome = std::move(outcome);
                exec->done = true;
                exec->timer.cancel();
            });
        });

        // Heartbeat at a third of the lease: two may be lost before the lease runs out.
        const auto interval = std::max<std::chrono::milliseconds>(
            kMinHeartbeat, std::chrono::milliseconds{task.lease_seconds * 1000 / 3});
        const std::string path = target("/tasks/" + task.id);
        auto next = SteadyClock::now() + interval;
        bool lease_lost = false;
        while (!exec->done && !abandon_) {
            exec->timer.expires_at(next);
            co_await exec->timer.async_wait(kToken);
            if (exec->done || abandon_ || SteadyClock::now() < next) continue;
            next = SteadyClock::now() + interval;
            if (lease_lost) continue;
            std::string why;
            if (!co_await exchange(s, "PATCH", path, R"({"status":"running"})", config_.request_timeout, why)) {
                util::log_warn(who + ": heartbeat not answered (" + why + ")");
            } else if (s.response.status == 409 || s.response.status == 404) {
                // 404: the task is no longer ours (re-queued, or taken by another agent), and
                // the server does not tell an agent more about a task it does not hold.
                util::log_warn(who + ": heartbeat answered " + std::to_string(s.response.status) +
                               ", the lease is lost: " + short_body(s.response.body));
                lease_lost = true;
            } else if (s.response.status != 200) {
                util::log_warn(who + ": heartbeat answered " + std::to_string(s.response.status) + " " +
                               short_body(s.response.body));
            }
        }
        s.running.reset();
        if (!exec->done) {
            util::log_error(who + ": still running at the shutdown deadline; not reported (its lease will expire)");
            ++undelivered_;
            co_return;
        }
        json::object body;
        if (*exec->outcome) {
            body["status"] = "completed";
            body["result"] = std::move(**exec->outcome);
            util::log_info(who + ": completed");
        } else {
            Failure f = exec->outcome->error();
            json::object result{{"error", f.message}};
            for (auto& kv : f.extra) result[kv.key()] = std::move(kv.value());
            body["status"] = "failed";
            body["result"] = std::move(result);
            util::log_info(who + ": failed: " + f.message);
        }
        co_await report(s, who, path, json::serialize(body));
    }

    net::awaitable<void> report(Slot& s, const std::string& who, const std::string& path, std::string body) {
        Backoff backoff(config_.backoff_max);
        for (;;) {
            std::string why;
            if (co_await exchange(s, "PATCH", path, body, config_.request_timeout, why)) {
                const unsigned status = s.response.status;
                if (status == 200) {
                    util::log_info(who + ": reported");
                    co_return;
                }
                if (status == 409 || status == 404) {
                    util::log_warn(who + ": report answered " + std::to_string(status) +
                                   ", the lease is lost (the task is no longer ours): " + short_body(s.response.body));
                    co_return;
                }
                if (status == 413) {
                    // A result past the server's body limit would be refused forever: say so instead.
                    util::log_warn(who + ": result of " + std::to_string(body.size()) + " bytes refused as too large");
                    json::value v = json::parse(body);
                    v.as_object()["result"] = json::object{
                        {"error", "the result (" + std::to_string(body.size()) + " bytes) was too large to report"}};
                    body = json::serialize(v);
                    continue;
                }
                if (status < 500 && status != 408 && status != 429) {
                    util::log_error(who + ": report refused with " + std::to_string(status) + " " +
                                    short_body(s.response.body));
                    co_return;
                }
                why = "answered " + std::to_string(status);
            }
            if (abandon_) {
                util::log_error(who + ": report not delivered by the shutdown deadline (" + why + "): " + short_body(body));
                ++undelivered_;
                co_return;
            }
            const auto wait = backoff.next();
            util::log_warn(who + ": cannot report (" + why + "); retrying in " + std::to_string(wait.count()) + "ms");
            co_await pause(s, wait);
        }
    }

    void shutdown(int sig) {
        if (stopping_) return;
        stopping_ = true;
        util::log_info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                       ": no more claims; finishing running tasks");
        for (auto& s : slots_) {
            if (s->claiming) s->connection.abort_now();
            else if (!s->connection.busy()) s->timer.cancel();  // a slot waiting to claim again
        }
        deadline_.expires_after(config_.shutdown_timeout);
        deadline_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            util::log_warn("shutdown deadline: killing what still runs");
            cancel_ = true;
            deadline_.expires_after(config_.shutdown_timeout);
            deadline_.async_wait([this](boost::system::error_code ec2) {
                if (ec2) return;
                abandon_ = true;
                for (auto& s : slots_) {
                    s->connection.abort_now();
                    s->timer.cancel();
                    if (s->running) s->running->timer.cancel();
                }
            });
        });
    }

    void finish() {
        util::log_info("stopped");
        deadline_.cancel();
        signals_.cancel();
        watchdog_.stop();
    }

    const Config& config_;
    Executor executor_;
    net::io_context& ioc_;
    net::thread_pool pool_;
    std::atomic<bool> never_{false};
    client::Watchdog watchdog_;
    net::signal_set signals_;
    net::steady_timer deadline_;
    std::string host_header_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::size_t running_slots_ = 0;
    bool stopping_ = false;
    bool abandon_ = false;          // the second deadline passed: give up on reports
    std::atomic<bool> cancel_{false};  // read by the executors on the pool
    std::size_t undelivered_ = 0;
};

// --debug-pause-fifo: blocks until a test has opened the FIFO for writing and closed it again.
void pause_on_fifo(const std::string& fifo, std::string_view path) {
    util::log_info("debug: paused before resolving " + std::string(path));
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[64];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
    ::close(fd);
}

}  // namespace

int run(const Config& config) {
    util::set_log_level(config.log_level);
    // A write to a connection the server closed is an error to handle, not a reason to die.
    std::signal(SIGPIPE, SIG_IGN);
    auto roots = Roots::open(config.allow_roots);
    if (!roots) {
        util::log_error("taskd-agent: " + roots.error().message);
        return 2;
    }
    if (!config.debug_pause_fifo.empty())
        roots->set_pause_hook([fifo = config.debug_pause_fifo](std::string_view p) { pause_on_fifo(fifo, p); });

    std::optional<client::TlsTarget> tls;
    if (config.tls) {
        std::string error;
        auto context = client::make_client_tls_context(true, config.tls_ca_file, error);
        if (!context) {
            util::log_error("taskd-agent: " + error);
            return 2;
        }
        tls = client::TlsTarget{std::move(context), config.host};
    }

    net::io_context ioc(1);
    boost::system::error_code ec;
    net::ip::tcp::resolver resolver(ioc);
    // Resolved once: an agent is configured with an address that does not move under it.
    auto results = resolver.resolve(config.host, std::to_string(config.port), ec);
    if (ec || results.empty()) {
        util::log_error("taskd-agent: cannot resolve " + config.host + ": " + ec.message());
        return 2;
    }
    const auto endpoint = results.begin()->endpoint();
    std::string shown_roots;
    for (const auto& r : roots->paths()) shown_roots += (shown_roots.empty() ? "" : ", ") + r;
    util::log_info("taskd-agent " TASKD_VERSION ": agent " + config.agent_id + ", server " + config.server_url +
                   ", concurrency " + std::to_string(config.concurrency) + ", roots " + shown_roots);
    Agent agent(config, *roots, ioc, endpoint, tls ? &*tls : nullptr);
    return agent.run();
}

}  // namespace taskd::agent
