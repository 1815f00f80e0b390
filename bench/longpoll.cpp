// The longpoll scenario: agents waiting for work, producers creating it; how long a task waits
// between its creation and its claim.
//
// --connections agents share one tenant; each loops on GET /tasks/next?agent_id=A&wait=W and
// completes (PATCH) every task it gets. --producers more connections create tasks for that
// tenant on the run's schedule (--rate, open loop, or as fast as answered), stamping each
// payload with the time the task was due (`sent_ns`, this process's steady clock). An operation
// is one task claimed and completed; its latency runs from that stamp to the claim's answer.
// With --delay-ms D, each task is created with a not_before D ms after it was due (this
// machine's system clock, the server's too when both run here) and stamped with it (`due_ns`);
// the latency runs from that not_before to the claim's answer, and a claim answered before it
// counts as a failure.
// A `null` answer (the wait ran out, or a server that ignores wait= answers at once) is counted
// as an empty poll, neither success nor failure: against a server without long poll the agents
// simply poll, and the count of empty polls shows it.
//
// The run ends when the producers are done and every task they created is completed, or, should
// some never be claimed, `timeout` after the producers finished (those count as failures).
#include "bench/scenarios.hpp"

#include "model/time.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <mutex>
#include <unordered_set>

namespace taskd::bench {
namespace net = boost::asio;

namespace {

std::int64_t steady_ns(SteadyClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::int64_t system_ns(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

class LongpollState {
public:
    LongpollState(std::size_t producers, SteadyClock::duration grace) : producers_running_(producers), grace_(grace) {}

    void producer_finished() {
        finished_at_ns_.store(steady_ns(SteadyClock::now()), std::memory_order_relaxed);
        producers_running_.fetch_sub(1, std::memory_order_acq_rel);
    }
    void created() { created_.fetch_add(1, std::memory_order_relaxed); }
    void completed() { completed_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t created_count() const { return created_.load(std::memory_order_relaxed); }
    std::uint64_t completed_count() const { return completed_.load(std::memory_order_relaxed); }

    // True once no more work can come: every producer finished and every task completed, or
    // the grace period after the producers ran out.
    bool done(const Worker& w) const {
        if (w.stopping()) return true;
        if (producers_running_.load(std::memory_order_acquire) > 0) return false;
        if (completed_count() >= created_count()) return true;
        const auto waited = std::chrono::nanoseconds(steady_ns(SteadyClock::now()) -
                                                     finished_at_ns_.load(std::memory_order_relaxed));
        return waited > grace_;
    }

    bool first_claim(const std::string& id) {
        std::lock_guard lock(mutex_);
        return claimed_.insert(id).second;
    }

private:
    std::atomic<std::size_t> producers_running_;
    std::atomic<std::int64_t> finished_at_ns_{0};
    std::atomic<std::uint64_t> created_{0};
    std::atomic<std::uint64_t> completed_{0};
    SteadyClock::duration grace_;
    std::mutex mutex_;
    std::unordered_set<std::string> claimed_;
};

class ProducerSession final : public Session {
public:
    ProducerSession(Worker& w, const Target& target, const std::string& tenant, unsigned delay_ms, LongpollState& state)
        : api_(w.executor(), target, w.watchdog()), timer_(w.executor()), tenant_(tenant), delay_ms_(delay_ms), state_(state) {}

    net::awaitable<void> setup() override { co_await api_.connect(); }

    net::awaitable<void> run(Worker& w) override {
        const TaskExpectation pending{.status = "pending", .id = {}, .agent_id = {}};
        while (auto due = co_await w.next_slot(timer_)) {
            std::string stamps = ",\"sent_ns\":" + std::to_string(steady_ns(*due));
            std::string not_before;
            if (delay_ms_ > 0) {
                const auto at = std::chrono::time_point_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now() + std::chrono::milliseconds{delay_ms_} - (SteadyClock::now() - *due));
                stamps += ",\"due_ns\":" + std::to_string(system_ns(at));
                not_before = ",\"not_before\":\"" + model::to_rfc3339(at) + "\"";
            }
            body_ = task_body(tenant_, stamps);
            body_.insert(body_.size() - 1, not_before);  // a field of the task, not of its payload
            if (auto failed = co_await api_.call("create", "POST", "/tasks/", api_.target().admin_token, body_, 201)) {
                w.finish(*due, *failed);
                continue;
            }
            if (auto wrong = check_task_body(api_.reader(), api_.response().body, pending)) {
                w.finish(*due, api_.wrong_body("create", *wrong));
                continue;
            }
            // Not an operation of its own: the task counts once an agent has completed it.
            w.count_requests(1);
            state_.created();
        }
        state_.producer_finished();
        if (state_.done(w)) w.stop_everything();
    }

private:
    ApiClient api_;
    net::steady_timer timer_;
    const std::string& tenant_;
    unsigned delay_ms_;
    LongpollState& state_;
    std::string body_;
};

class AgentSession final : public Session {
public:
    AgentSession(Worker& w, const Target& target, const std::string& tenant, std::size_t index, unsigned wait_seconds,
                 LongpollState& state)
        : api_(w.executor(), target, w.watchdog()),
          tenant_(tenant),
          index_(index),
          wait_seconds_(wait_seconds),
          state_(state) {}

    net::awaitable<void> setup() override {
        co_await api_.connect();
        agent_ = co_await api_.register_agent(tenant_, "bench-longpoll-" + std::to_string(index_));
        claim_path_ = "/tasks/next?agent_id=" + agent_.id + "&wait=" + std::to_string(wait_seconds_);
    }

    net::awaitable<void> run(Worker& w) override {
        while (!state_.done(w)) {
            auto failed = co_await api_.call("claim", "GET", claim_path_, agent_.token, {}, 200);
            const auto answered = SteadyClock::now();
            const auto answered_system = std::chrono::system_clock::now();
            if (failed) {
                if (state_.done(w)) break;  // aborted because the run is over
                w.finish(answered, *failed);
                continue;
            }
            if (api_.response().body == "null") {
                w.count("empty_polls");
                w.count_requests(1);
                continue;
            }
            if (auto wrong = check_claim_body(api_.reader(), api_.response().body, agent_.id, &task_id_)) {
                w.finish(answered, api_.wrong_body("claim", *wrong));
                continue;
            }
            const auto* payload = api_.reader().last()->as_object().at("payload").if_object();
            const auto* sent = payload ? payload->if_contains("sent_ns") : nullptr;
            if (!sent || !sent->is_number()) {
                w.finish(answered, api_.wrong_body("claim", "a task without the producer's sent_ns"));
                continue;
            }
            const auto sent_at = SteadyClock::time_point(std::chrono::duration_cast<SteadyClock::duration>(
                std::chrono::nanoseconds(sent->to_number<std::int64_t>())));
            // A delayed task's latency runs from its not_before, on the system clock.
            std::optional<std::chrono::nanoseconds> after_due;
            if (const auto* due = payload->if_contains("due_ns"); due && due->is_number()) {
                after_due = std::chrono::nanoseconds(system_ns(answered_system) - due->to_number<std::int64_t>());
                if (after_due->count() < 0) {
                    w.finish(answered, api_.wrong_body("claim", "a task claimed before its not_before"));
                    continue;
                }
            }
            if (!state_.first_claim(task_id_)) {
                w.finish(answered, api_.wrong_body("claim", "a task claimed twice"));
                continue;
            }

            task_path_ = "/tasks/" + task_id_;
            if (auto patch_failed = co_await api_.call("complete", "PATCH", task_path_, agent_.token, kCompleteBody, 200)) {
                patch_failed->requests = 2;
                w.finish(answered, *patch_failed);
                continue;
            }
            Outcome o = Outcome::ok(2);
            o.latency = after_due ? std::chrono::duration_cast<SteadyClock::duration>(*after_due) : answered - sent_at;
            w.finish(answered, o);
            state_.completed();
            if (state_.done(w)) w.stop_everything();
        }
        // Wake the agents still waiting in a long poll: there is nothing more to wait for.
        w.stop_everything();
    }

private:
    static constexpr std::string_view kCompleteBody = R"({"status":"completed","result":{"bytes_written":16}})";

    ApiClient api_;
    const std::string& tenant_;
    std::size_t index_;
    unsigned wait_seconds_;
    LongpollState& state_;
    Agent agent_;
    std::string claim_path_;
    std::string task_id_;
    std::string task_path_;
};

class LongpollScenario final : public Scenario {
public:
    explicit LongpollScenario(const ScenarioOptions& options) : options_(options), tenant_(random_uuid()) {}

    void prepare(const LoadPlan& plan) override {
        if (options_.producers == 0) throw std::invalid_argument("longpoll needs at least one producer");
        // A claim may be held for wait= seconds; allow that on top of the run's request timeout.
        state_ = std::make_unique<LongpollState>(options_.producers,
                                                 plan.timeout + std::chrono::seconds{options_.wait_seconds});
    }

    std::size_t session_count(const LoadPlan& plan) const override { return plan.connections + options_.producers; }

    std::unique_ptr<Session> make_session(std::size_t index, Worker& w) override {
        if (index < options_.producers)
            return std::make_unique<ProducerSession>(w, options_.target, tenant_, options_.delay_ms, *state_);
        return std::make_unique<AgentSession>(w, options_.target, tenant_, index - options_.producers,
                                              options_.wait_seconds, *state_);
    }

    void finish(RunStats& stats) override {
        const auto created = state_->created_count();
        const auto completed = state_->completed_count();
        stats.counters["tasks_created"] = created;
        if (created > completed) {
            stats.errors["never claimed"] += created - completed;
            stats.failed += created - completed;
        }
    }

private:
    const ScenarioOptions& options_;
    std::string tenant_;
    std::unique_ptr<LongpollState> state_;
};

}  // namespace

std::unique_ptr<Scenario> make_longpoll_scenario(const ScenarioOptions& options) {
    return std::make_unique<LongpollScenario>(options);
}

}  // namespace taskd::bench
