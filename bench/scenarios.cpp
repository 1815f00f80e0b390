#include "bench/scenarios.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

namespace taskd::bench {
namespace net = boost::asio;

namespace {

// get: each session reads back this many tasks of its own, in turn.
constexpr std::size_t kGetTasksPerSession = 4;
// Pre-filling a queue is not measured; more connections than this only add contention.
constexpr std::size_t kMaxPrefillConnections = 64;

const TaskExpectation kPending{.status = "pending", .id = {}, .agent_id = {}};

// `get` and `static` check an answer in full once, in setup, and then expect the same bytes
// every time: a memcmp per answer instead of a JSON parse, so that a run against a fixed answer
// measures the server and not the checker.

// GET `path`, its answer checked by `check`: what the session expects from then on. Throws
// (aborting the run) when the server answers otherwise.
net::awaitable<std::string> checked_first_answer(ApiClient& api, const std::string& path, std::string_view token,
                                                 const std::function<CheckError(std::string_view)>& check) {
    if (auto failed = co_await api.call("get", "GET", path, token, {}, 200))
        throw std::runtime_error("GET " + path + ": " + failed->key() + " " + failed->sample);
    const std::string& body = api.response().body;
    if (auto wrong = check(body)) throw std::runtime_error("GET " + path + ": " + *wrong + " in " + body);
    co_return body;
}

// GET `path` once more: an operation, ok when the answer is `expected`, byte for byte.
net::awaitable<Outcome> same_answer(ApiClient& api, const std::string& path, std::string_view token,
                                    const std::string& expected) {
    if (auto failed = co_await api.call("get", "GET", path, token, {}, 200)) co_return *failed;
    if (api.response().body != expected) co_return api.wrong_body("get", "another answer than the first");
    co_return Outcome::ok();
}

// ---- create ----------------------------------------------------------------------------------

class CreateSession final : public ScheduledSession {
public:
    CreateSession(Worker& w, const Target& target, std::string tenant)
        : ScheduledSession(w.executor()), api_(w.executor(), target, w.watchdog()), body_(task_body(tenant)) {}

    net::awaitable<void> setup() override { co_await api_.connect(); }

protected:
    net::awaitable<Outcome> operation() override {
        if (auto failed = co_await api_.call("create", "POST", "/tasks/", api_.target().admin_token, body_, 201))
            co_return *failed;
        if (auto wrong = check_task_body(api_.reader(), api_.response().body, kPending))
            co_return api_.wrong_body("create", *wrong);
        co_return Outcome::ok();
    }

private:
    ApiClient api_;
    std::string body_;
};

// With `tenant` set, every session creates tasks for it (a pre-filled queue); else each its own.
class CreateScenario final : public Scenario {
public:
    CreateScenario(const ScenarioOptions& options, std::optional<std::string> tenant)
        : options_(options), tenant_(std::move(tenant)) {}

    std::unique_ptr<Session> make_session(std::size_t, Worker& w) override {
        return std::make_unique<CreateSession>(w, options_.target, tenant_ ? *tenant_ : random_uuid());
    }

private:
    const ScenarioOptions& options_;
    std::optional<std::string> tenant_;
};

// ---- get -------------------------------------------------------------------------------------

// Each task's first answer is checked in full; nothing changes a pending task, so every later
// answer must be the same bytes.
class GetSession final : public ScheduledSession {
public:
    GetSession(Worker& w, const Target& target) : ScheduledSession(w.executor()), api_(w.executor(), target, w.watchdog()) {}

    net::awaitable<void> setup() override {
        co_await api_.connect();
        const std::string tenant = random_uuid();
        for (std::size_t i = 0; i < kGetTasksPerSession; ++i) {
            const std::string id = co_await api_.create_task(tenant);
            paths_.push_back("/tasks/" + id);
            const auto is_that_task = [&](std::string_view body) {
                return check_task_body(api_.reader(), body, {.status = "pending", .id = id, .agent_id = {}});
            };
            bodies_.push_back(co_await checked_first_answer(api_, paths_.back(), api_.target().admin_token, is_that_task));
        }
    }

protected:
    net::awaitable<Outcome> operation() override {
        const std::size_t k = next_++ % paths_.size();
        co_return co_await same_answer(api_, paths_[k], api_.target().admin_token, bodies_[k]);
    }

private:
    ApiClient api_;
    std::vector<std::string> paths_;
    std::vector<std::string> bodies_;  // the checked first answer for each path
    std::size_t next_ = 0;
};

class GetScenario final : public Scenario {
public:
    explicit GetScenario(const ScenarioOptions& options) : options_(options) {}
    std::unique_ptr<Session> make_session(std::size_t, Worker& w) override {
        return std::make_unique<GetSession>(w, options_.target);
    }

private:
    const ScenarioOptions& options_;
};

// ---- list ------------------------------------------------------------------------------------

class ListSession final : public ScheduledSession {
public:
    ListSession(Worker& w, const Target& target, const std::string& path, std::size_t count)
        : ScheduledSession(w.executor()), api_(w.executor(), target, w.watchdog()), path_(path), count_(count) {}

    net::awaitable<void> setup() override { co_await api_.connect(); }

protected:
    net::awaitable<Outcome> operation() override {
        if (auto failed = co_await api_.call("list", "GET", path_, api_.target().admin_token, {}, 200)) co_return *failed;
        if (auto wrong = check_list_body(api_.reader(), api_.response().body, count_))
            co_return api_.wrong_body("list", *wrong);
        co_return Outcome::ok();
    }

private:
    ApiClient api_;
    const std::string& path_;
    std::size_t count_;
};

// One tenant holding exactly `limit` tasks: a page of taskd's listing, and all of the original's
// (which ignores `limit`), so that both answer the same tasks.
class ListScenario final : public Scenario {
public:
    explicit ListScenario(const ScenarioOptions& options) : options_(options) {}

    void prepare(const LoadPlan&) override {
        const std::string tenant = random_uuid();
        run_blocking([&](net::any_io_executor ex, Watchdog& watchdog) -> net::awaitable<void> {
            ApiClient api(ex, options_.target, watchdog);
            for (std::size_t i = 0; i < options_.list_limit; ++i) co_await api.create_task(tenant);
        });
        path_ = "/tasks/?tenant_id=" + tenant + "&limit=" + std::to_string(options_.list_limit);
    }

    std::unique_ptr<Session> make_session(std::size_t, Worker& w) override {
        return std::make_unique<ListSession>(w, options_.target, path_, options_.list_limit);
    }

private:
    const ScenarioOptions& options_;
    std::string path_;
};

// ---- claim -----------------------------------------------------------------------------------

// Ids claimed so far, shared by every session of the run: a task handed out twice is a failure.
class ClaimLedger {
public:
    bool first_claim(const std::string& id) {
        std::lock_guard lock(mutex_);
        return ids_.insert(id).second;
    }

private:
    std::mutex mutex_;
    std::unordered_set<std::string> ids_;
};

class ClaimSession final : public ScheduledSession {
public:
    ClaimSession(Worker& w, const Target& target, const std::string& tenant, std::size_t index, ClaimLedger& ledger)
        : ScheduledSession(w.executor()),
          api_(w.executor(), target, w.watchdog()),
          tenant_(tenant),
          index_(index),
          ledger_(ledger) {}

    net::awaitable<void> setup() override {
        co_await api_.connect();
        agent_ = co_await api_.register_agent(tenant_, "bench-claim-" + std::to_string(index_));
        path_ = "/tasks/next?agent_id=" + agent_.id;
    }

protected:
    net::awaitable<Outcome> operation() override {
        if (auto failed = co_await api_.call("claim", "GET", path_, agent_.token, {}, 200)) co_return *failed;
        if (auto wrong = check_claim_body(api_.reader(), api_.response().body, agent_.id, &claimed_))
            co_return api_.wrong_body("claim", *wrong);
        if (!ledger_.first_claim(claimed_)) co_return api_.wrong_body("claim", "a task claimed twice");
        co_return Outcome::ok();
    }

private:
    ApiClient api_;
    const std::string& tenant_;
    std::size_t index_;
    ClaimLedger& ledger_;
    Agent agent_;
    std::string path_;
    std::string claimed_;
};

class ClaimScenario final : public Scenario {
public:
    explicit ClaimScenario(const ScenarioOptions& options) : options_(options), tenant_(random_uuid()) {}

    void prepare(const LoadPlan& plan) override {
        const auto count = options_.prefill ? options_.prefill : plan.operations;
        if (!count) throw std::invalid_argument("claim needs --prefill or --requests: how many tasks to queue first");
        prefilled_ = *count;
        CreateScenario fill(options_, tenant_);
        LoadPlan fill_plan;
        fill_plan.connections = std::min(plan.connections, kMaxPrefillConnections);
        fill_plan.threads = plan.threads;
        fill_plan.operations = prefilled_;
        fill_plan.timeout = plan.timeout;
        const RunStats filled = run_load(fill, fill_plan);
        if (filled.failed > 0)
            throw std::runtime_error("pre-filling the queue: " + std::to_string(filled.failed) + " creates failed (" +
                                     filled.errors.begin()->first + ")");
    }

    std::unique_ptr<Session> make_session(std::size_t index, Worker& w) override {
        return std::make_unique<ClaimSession>(w, options_.target, tenant_, index, ledger_);
    }

    void finish(RunStats& stats) override { stats.counters["prefilled"] = prefilled_; }

private:
    const ScenarioOptions& options_;
    std::string tenant_;
    std::uint64_t prefilled_ = 0;
    ClaimLedger ledger_;
};

// ---- lifecycle -------------------------------------------------------------------------------

// The whole path of one task, as a control plane and an agent walk it.
class LifecycleSession final : public ScheduledSession {
public:
    LifecycleSession(Worker& w, const Target& target, std::size_t index)
        : ScheduledSession(w.executor()),
          api_(w.executor(), target, w.watchdog()),
          tenant_(random_uuid()),
          index_(index),
          create_body_(task_body(tenant_)) {}

    net::awaitable<void> setup() override {
        co_await api_.connect();
        agent_ = co_await api_.register_agent(tenant_, "bench-lifecycle-" + std::to_string(index_));
        claim_path_ = "/tasks/next?agent_id=" + agent_.id;
    }

protected:
    net::awaitable<Outcome> operation() override {
        const std::string& admin = api_.target().admin_token;
        auto failed_at = [](Outcome o, unsigned requests) {
            o.requests = requests;
            return o;
        };

        if (auto failed = co_await api_.call("create", "POST", "/tasks/", admin, create_body_, 201))
            co_return failed_at(*failed, 1);
        if (auto wrong = check_task_body(api_.reader(), api_.response().body, kPending, &task_id_))
            co_return failed_at(api_.wrong_body("create", *wrong), 1);

        if (auto failed = co_await api_.call("claim", "GET", claim_path_, agent_.token, {}, 200))
            co_return failed_at(*failed, 2);
        if (auto wrong = check_claim_body(api_.reader(), api_.response().body, agent_.id, &claimed_))
            co_return failed_at(api_.wrong_body("claim", *wrong), 2);
        // The session's tenant has no other producer: the oldest pending task is the one just made.
        if (claimed_ != task_id_) co_return failed_at(api_.wrong_body("claim", "another task than the one created"), 2);

        task_path_ = "/tasks/" + task_id_;
        if (auto failed = co_await api_.call("complete", "PATCH", task_path_, agent_.token, kCompleteBody, 200))
            co_return failed_at(*failed, 3);
        if (auto wrong = check_task_body(api_.reader(), api_.response().body,
                                         {.status = "completed", .id = task_id_, .agent_id = agent_.id}))
            co_return failed_at(api_.wrong_body("complete", *wrong), 3);
        co_return Outcome::ok(3);
    }

private:
    static constexpr std::string_view kCompleteBody = R"({"status":"completed","result":{"bytes_written":16}})";

    ApiClient api_;
    std::string tenant_;
    std::size_t index_;
    std::string create_body_;
    Agent agent_;
    std::string claim_path_;
    std::string task_id_;
    std::string claimed_;
    std::string task_path_;
};

class LifecycleScenario final : public Scenario {
public:
    explicit LifecycleScenario(const ScenarioOptions& options) : options_(options) {}
    std::unique_ptr<Session> make_session(std::size_t index, Worker& w) override {
        return std::make_unique<LifecycleSession>(w, options_.target, index);
    }

private:
    const ScenarioOptions& options_;
};

// ---- static ----------------------------------------------------------------------------------

// The HTTP ceiling: a server's fixed answer, a JSON object; every answer after the first must be
// the same bytes.
class StaticSession final : public ScheduledSession {
public:
    StaticSession(Worker& w, const Target& target, const std::string& path)
        : ScheduledSession(w.executor()), api_(w.executor(), target, w.watchdog()), path_(path) {}

    net::awaitable<void> setup() override {
        co_await api_.connect();
        expected_ = co_await checked_first_answer(api_, path_, {}, [&](std::string_view body) {
            return check_object_body(api_.reader(), body);
        });
    }

protected:
    net::awaitable<Outcome> operation() override {
        co_return co_await same_answer(api_, path_, {}, expected_);
    }

private:
    ApiClient api_;
    const std::string& path_;
    std::string expected_;
};

class StaticScenario final : public Scenario {
public:
    explicit StaticScenario(const ScenarioOptions& options) : options_(options) {}
    std::unique_ptr<Session> make_session(std::size_t, Worker& w) override {
        return std::make_unique<StaticSession>(w, options_.target, options_.path);
    }

private:
    const ScenarioOptions& options_;
};

}  // namespace

const std::vector<std::string>& scenario_names() {
    static const std::vector<std::string> names{"create", "get", "list", "claim", "lifecycle", "longpoll", "static"};
    return names;
}

std::unique_ptr<Scenario> make_scenario(const std::string& name, const ScenarioOptions& options) {
    if (options.protocol == Protocol::beanstalk) {
        if (name == "lifecycle") return make_beanstalk_lifecycle_scenario(options);
        throw std::invalid_argument("--protocol beanstalk has only the lifecycle scenario");
    }
    if (name == "create") return std::make_unique<CreateScenario>(options, std::nullopt);
    if (name == "get") return std::make_unique<GetScenario>(options);
    if (name == "list") return std::make_unique<ListScenario>(options);
    if (name == "claim") return std::make_unique<ClaimScenario>(options);
    if (name == "lifecycle") return std::make_unique<LifecycleScenario>(options);
    if (name == "longpoll") return make_longpoll_scenario(options);
    if (name == "static") return std::make_unique<StaticScenario>(options);
    throw std::invalid_argument("unknown scenario '" + name + "'");
}

}  // namespace taskd::bench
