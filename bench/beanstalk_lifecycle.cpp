// The lifecycle scenario on beanstalkd: put -> reserve -> delete, the same path a task takes
// through taskd (create -> claim -> complete), with the same task JSON as the job's body.
//
// Each session uses a tube of its own (as each taskd session has a tenant of its own), so the
// job it reserves must be the job it just put; the body must come back unchanged.
#include "bench/beanstalk_client.hpp"
#include "bench/scenarios.hpp"

#include <stdexcept>

namespace taskd::bench {
namespace net = boost::asio;

namespace {

// beanstalkd's time-to-run: how long a reserved job stays reserved; the job is deleted at once.
constexpr int kTimeToRunSeconds = 60;

Outcome failure(FailureKind kind, std::string step, std::string sample, unsigned requests) {
    Outcome o;
    o.failure = kind;
    o.step = std::move(step);
    o.sample = std::move(sample);
    o.requests = requests;
    return o;
}

class BeanstalkSession final : public ScheduledSession {
public:
    BeanstalkSession(Worker& w, const Target& target, std::size_t index)
        : ScheduledSession(w.executor()),
          connection_(w.executor(), target.endpoint()),
          tube_("bench-" + std::to_string(index)),
          body_(task_body(random_uuid())),
          put_("put 0 0 " + std::to_string(kTimeToRunSeconds) + " " + std::to_string(body_.size())) {
        w.watchdog().watch(connection_);
    }

    net::awaitable<void> setup() override {
        // Awaited into a variable first: GCC 12 miscompiles a throw that follows a co_await
        // inside an if condition (the coroutine dies on an illegal instruction).
        const Transport t = co_await connection_.connect();
        if (t != Transport::ok) throw std::runtime_error("cannot connect to beanstalkd");
        if (auto failed = co_await choose_tube()) throw std::runtime_error("beanstalkd: " + failed->sample);
    }

protected:
    net::awaitable<Outcome> operation() override {
        // Reopen a connection lost to an error here, not inside put: a reopened connection has
        // forgotten its tube, and the job would go to the default one.
        if (auto t = co_await connection_.connect(); t != Transport::ok) co_return lost("connect", t, 0);
        if (connection_.reconnected()) {
            if (auto failed = co_await choose_tube()) co_return *failed;
        }

        if (auto t = co_await connection_.command(put_, reply_, body_); t != Transport::ok) co_return lost("put", t, 1);
        const auto put_id = parse_job_id(reply_.line, "INSERTED");
        if (!put_id) co_return failure(FailureKind::body, "put", reply_.line, 1);

        if (auto t = co_await connection_.command("reserve-with-timeout 0", reply_); t != Transport::ok)
            co_return lost("reserve", t, 2);
        std::uint64_t bytes = 0;
        const auto reserved = parse_job_id(reply_.line, "RESERVED", &bytes);
        if (!reserved) co_return failure(FailureKind::body, "reserve", reply_.line, 2);
        if (*reserved != *put_id || reply_.data != body_)
            co_return failure(FailureKind::body, "reserve", "another job than the one put: " + reply_.line, 2);

        delete_.assign("delete ").append(std::to_string(*reserved));
        if (auto t = co_await connection_.command(delete_, reply_); t != Transport::ok) co_return lost("delete", t, 3);
        if (reply_.line != "DELETED") co_return failure(FailureKind::body, "delete", reply_.line, 3);
        co_return Outcome::ok(3);
    }

private:
    static Outcome lost(std::string step, Transport t, unsigned requests) {
        return failure(t == Transport::timed_out ? FailureKind::timeout : FailureKind::io, std::move(step), {}, requests);
    }

    // use and watch this session's tube only.
    net::awaitable<std::optional<Outcome>> choose_tube() {
        const std::pair<std::string, std::string> steps[] = {
            {"use " + tube_, "USING " + tube_}, {"watch " + tube_, "WATCHING 2"}, {"ignore default", "WATCHING 1"}};
        for (const auto& [command, expected] : steps) {
            if (auto t = co_await connection_.command(command, reply_); t != Transport::ok) co_return lost(command, t, 0);
            if (reply_.line != expected) co_return failure(FailureKind::body, command, reply_.line, 0);
        }
        connection_.reconnected();  // the tube is chosen for this connection
        co_return std::nullopt;
    }

    BeanstalkConnection connection_;
    std::string tube_;
    std::string body_;
    std::string put_;
    std::string delete_;
    BeanstalkReply reply_;
};

class BeanstalkLifecycle final : public Scenario {
public:
    explicit BeanstalkLifecycle(const ScenarioOptions& options) : options_(options) {}
    std::unique_ptr<Session> make_session(std::size_t index, Worker& w) override {
        return std::make_unique<BeanstalkSession>(w, options_.target, index);
    }

private:
    const ScenarioOptions& options_;
};

}  // namespace

std::unique_ptr<Scenario> make_beanstalk_lifecycle_scenario(const ScenarioOptions& options) {
    return std::make_unique<BeanstalkLifecycle>(options);
}

}  // namespace taskd::bench
