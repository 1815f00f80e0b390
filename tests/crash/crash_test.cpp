// taskd-crash-test: kill -9 the real server at random moments and check that nothing it
// answered was lost and that no task was ever handed to two agents.
//
//   taskd-crash-test [--cycles N] [--fsync always|interval|never|all] [--seed S]
//                    [--taskd-arg ARG]... [--expect-loss]
//
// Each cycle: start taskd on the same data directory, let worker threads create tasks (admin),
// claim them (agents), complete or fail them (holders) or fail them as the admin (abort) over
// HTTP, recording every change the server answered; once the cycle has acknowledged at least a
// random number of changes and every kind of change at least once, kill -9 the server
// mid-traffic; restart it and check every answered change against what the server now holds.
// Agents are registered in the first cycle and must keep working across every restart.
//
// It fails (exit 1) on a lost change, a double claim, any 5xx, any other answer or error a
// request should not get (every request has one right answer; only the kill may break a
// connection), and a cycle that ended without acknowledging every kind. (The admin aborts only
// tasks its own worker's agent holds, so that no answer depends on a race: a cancel of a pending
// task would race the claims.)
// Prints, per mode,
//   fsync=always cycles 50 acked N (create N, claim N, ...) lost 0 double_claims 0 server_errors 0
//   unexpected 0 short_cycles 0
//
// --taskd-arg ARG passes ARG to taskd. With --expect-loss the verdict is inverted: the run
// passes only if it reports lost changes. ctest runs it against --debug-skip-journal-write, a
// taskd that answers changes it never journals, to prove that this test can fail.
#include "http_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

struct Agent {
    std::string id, token, tenant;  // tenant empty: shared
};

// The kinds of change a cycle must have acknowledged before it may end.
enum class Kind { create, claim, complete, fail, abort };
constexpr std::array kKinds{Kind::create, Kind::claim, Kind::complete, Kind::fail, Kind::abort};

const char* to_string(Kind kind) {
    switch (kind) {
    case Kind::create: return "create";
    case Kind::claim: return "claim";
    case Kind::complete: return "complete";
    case Kind::fail: return "fail";
    case Kind::abort: return "abort";
    }
    return "?";
}

struct Acked {
    std::map<std::string, std::string> created;    // task id -> tenant
    std::map<std::string, std::string> claimed;    // task id -> agent id
    std::map<std::string, std::string> completed;  // task id -> result text
    std::map<std::string, std::string> failed;     // task id -> result text (by its holder)
    std::set<std::string> aborted;                 // running -> failed by the admin
    std::map<Kind, std::uint64_t> by_kind;
    std::uint64_t changes = 0;
    std::uint64_t double_claims = 0;
};

// What no request may meet: a 5xx, another unexpected answer, or an error before the kill.
struct Errors {
    std::uint64_t server_errors = 0;  // 5xx
    std::uint64_t unexpected = 0;     // any other wrong answer, or a broken connection before the kill
    std::uint64_t short_cycles = 0;   // ended without acknowledging every kind of change
    std::uint64_t printed = 0;

    void report(const std::string& line) {
        if (++printed <= 10) std::cerr << line << "\n";
    }
};

// An answer with a status the request should never get.
struct WrongAnswer : std::runtime_error {
    WrongAnswer(const std::string& what, const HttpResponse& r)
        : std::runtime_error(what + " answered " + std::to_string(r.status) + " " + r.body), status(r.status) {}
    unsigned status;
};

struct Options {
    int cycles = 50;
    std::vector<std::string> modes{"always", "interval", "never"};
    unsigned seed = std::random_device{}();
    int workers = 6;
    std::vector<std::string> taskd_args;
    bool expect_loss = false;
};

class Cycle {
public:
    Cycle(ServerProcess& server, std::vector<Agent>& agents, std::vector<std::string>& tenants, Acked& acked,
          Errors& errors)
        : server_(server), agents_(agents), tenants_(tenants), acked_(acked), errors_(errors) {}

    // Runs traffic until at least `answers` changes, and every kind of change at least once,
    // were acknowledged in this cycle (or every worker stopped on an error), then kills the
    // server. Returns false, having counted and reported it, if a kind was never acknowledged.
    bool run(int cycle, int workers, std::uint64_t answers, unsigned seed) {
        seed_ = seed;
        target_ = acked_.changes + answers;
        std::vector<std::thread> threads;
        for (int w = 0; w < workers; ++w) threads.emplace_back([this, w] { work(static_cast<unsigned>(w)); });
        {
            std::unique_lock lock(mutex_);
            progress_.wait(lock, [&] { return done() || idle_ == threads.size(); });
        }
        killing_.store(true);  // from here on a broken connection is the kill's doing
        server_.kill();
        for (auto& t : threads) t.join();
        std::lock_guard lock(mutex_);
        std::string missing;
        for (const Kind kind : kKinds)
            if (by_kind_[kind] == 0) missing += std::string(missing.empty() ? "" : ", ") + to_string(kind);
        if (missing.empty()) return true;
        ++errors_.short_cycles;
        errors_.report("SHORT CYCLE " + std::to_string(cycle) + ": no " + missing + " acknowledged");
        return false;
    }

private:
    // Called with mutex_ held.
    bool done() {
        if (acked_.changes < target_) return false;
        for (const Kind kind : kKinds)
            if (by_kind_[kind] == 0) return false;
        return true;
    }

    void record(Kind kind, const std::function<void()>& change) {
        std::lock_guard lock(mutex_);
        change();
        ++acked_.changes;
        ++acked_.by_kind[kind];
        ++by_kind_[kind];
        if (done()) progress_.notify_all();
    }

    static HttpResponse expect(const std::string& what, HttpResponse r, std::initializer_list<unsigned> statuses) {
        for (unsigned s : statuses)
            if (r.status == s) return r;
        throw WrongAnswer(what, r);
    }

    void work(unsigned index) {
        std::mt19937 rng(seed_ + index);
        HttpClient admin(server_.port());
        admin.set_token(server_.admin_token());
        const Agent& agent = agents_[index % agents_.size()];
        HttpClient edge(server_.port());
        edge.set_token(agent.token);
        std::vector<std::string> holding;  // claimed by this worker's agent, not yet finished
        try {
            for (;;) {
                const auto op = rng() % 8;
                if (op < 3) {
                    const std::string tenant = tenants_[rng() % tenants_.size()];
                    auto r = expect("create", admin.post("/tasks", R"({"tenant_id":")" + tenant +
                                                                       R"(","type":"crash","payload":{}})"),
                                    {201});
                    const std::string id(r.json().at("id").as_string());
                    record(Kind::create, [&] { acked_.created[id] = tenant; });
                } else if (op < 6) {
                    auto r = expect("claim", edge.get("/tasks/next?agent_id=" + agent.id), {200});
                    if (r.body == "null") continue;
                    const std::string id(r.json().at("id").as_string());
                    holding.push_back(id);
                    record(Kind::claim, [&] {
                        if (acked_.claimed.count(id)) {
                            ++acked_.double_claims;
                            std::cerr << "DOUBLE CLAIM: task " << id << " answered to " << acked_.claimed[id]
                                      << " and to " << agent.id << "\n";
                        }
                        acked_.claimed[id] = agent.id;
                    });
                } else if (op == 6 && !holding.empty()) {
                    const std::string id = holding.back();
                    holding.pop_back();
                    const bool complete = rng() % 3 != 0;
                    const std::string result = R"({"by":")" + agent.id + R"(","n":)" + std::to_string(rng() % 1000) + "}";
                    expect(complete ? "complete" : "fail",
                           edge.patch("/tasks/" + id, std::string(R"({"status":")") + (complete ? "completed" : "failed") +
                                                          R"(","result":)" + result + "}"),
                           {200});
                    if (complete) record(Kind::complete, [&] { acked_.completed[id] = result; });
                    else record(Kind::fail, [&] { acked_.failed[id] = result; });
                } else if (op == 7 && !holding.empty()) {
                    const std::string id = holding.back();
                    holding.pop_back();
                    expect("abort", admin.patch("/tasks/" + id, R"({"status":"failed"})"), {200});
                    record(Kind::abort, [&] { acked_.aborted.insert(id); });
                }
            }
        } catch (const WrongAnswer& e) {
            std::lock_guard lock(mutex_);
            ++(e.status >= 500 ? errors_.server_errors : errors_.unexpected);
            errors_.report(std::string(e.status >= 500 ? "SERVER ERROR: " : "UNEXPECTED: ") + e.what());
        } catch (const std::exception& e) {
            // After the kill a broken connection is what the kill does; before it, an error.
            if (!killing_.load()) {
                std::lock_guard lock(mutex_);
                ++errors_.unexpected;
                errors_.report(std::string("UNEXPECTED (before the kill): ") + e.what());
            }
        }
        std::lock_guard lock(mutex_);
        ++idle_;
        progress_.notify_all();
    }

    ServerProcess& server_;
    std::vector<Agent>& agents_;
    std::vector<std::string>& tenants_;
    Acked& acked_;
    Errors& errors_;
    std::mutex mutex_;
    std::condition_variable progress_;
    std::map<Kind, std::uint64_t> by_kind_;  // acknowledged in this cycle
    std::atomic<bool> killing_{false};
    std::uint64_t target_ = 0;
    unsigned seed_ = 0;
    std::size_t idle_ = 0;
};

// Everything acknowledged must be in the restarted server; returns how many were not.
std::uint64_t verify(ServerProcess& server, const Acked& acked, const std::vector<Agent>& agents) {
    HttpClient admin(server.port());
    admin.set_token(server.admin_token());
    std::map<std::string, json::object> tasks;
    auto list = admin.get("/tasks");
    if (list.status != 200) throw std::runtime_error("list after restart: " + std::to_string(list.status));
    const json::value listed = list.json();
    for (const auto& v : listed.as_array()) tasks[std::string(v.at("id").as_string())] = v.as_object();

    std::uint64_t lost = 0;
    auto report = [&](const std::string& what) {
        ++lost;
        if (lost <= 10) std::cerr << "LOST: " << what << "\n";
    };
    for (const auto& [id, tenant] : acked.created) {
        auto it = tasks.find(id);
        if (it == tasks.end() || it->second.at("tenant_id").as_string() != tenant) report("created task " + id);
    }
    for (const auto& [id, agent] : acked.claimed) {
        auto it = tasks.find(id);
        if (it == tasks.end()) continue;  // counted above
        const auto& t = it->second;
        const bool held = (t.at("status") == "running" || t.at("status") == "completed" || t.at("status") == "failed") &&
                          t.at("agent_id").is_string() && t.at("agent_id").as_string() == agent &&
                          t.at("attempts").as_int64() == 1;
        if (!held) report("claim of " + id + " by " + agent + ", found " + json::serialize(t));
    }
    auto finished = [&](const std::map<std::string, std::string>& acked_results, const char* status) {
        for (const auto& [id, result] : acked_results) {
            auto it = tasks.find(id);
            if (it == tasks.end()) continue;
            if (it->second.at("status") != status ||
                json::serialize(it->second.at("result")) != json::serialize(json::parse(result)))
                report(std::string(status) + " of " + id + ", found " + json::serialize(it->second));
        }
    };
    finished(acked.completed, "completed");
    finished(acked.failed, "failed");
    for (const auto& id : acked.aborted) {  // its holder is checked with the claims
        auto it = tasks.find(id);
        if (it == tasks.end()) continue;
        if (it->second.at("status") != "failed" || !it->second.at("result").is_null())
            report("abort of " + id + ", found " + json::serialize(it->second));
    }
    for (const auto& agent : agents) {
        HttpClient c(server.port());
        c.set_token(agent.token);
        if (c.get("/tasks/next?agent_id=" + agent.id + "&x=probe").status != 200) report("agent " + agent.id);
    }
    return lost;
}

int run_mode(const std::string& mode, const Options& options, std::mt19937& rng) {
    TempDir dir;
    const auto data = dir.path() / "data";
    std::vector<std::string> args{"--fsync", mode, "--threads", "2"};
    args.insert(args.end(), options.taskd_args.begin(), options.taskd_args.end());
    ServerProcess server;
    server.start(data, args);

    std::vector<std::string> tenants;
    for (int i = 0; i < 3; ++i) tenants.push_back("00000000-0000-4000-8000-00000000000" + std::to_string(i + 1));
    std::vector<Agent> agents;
    HttpClient admin(server.port());
    admin.set_token(server.admin_token());
    for (int i = 0; i < 4; ++i) {
        const std::string tenant = i < 3 ? tenants[static_cast<std::size_t>(i)] : std::string{};
        auto r = admin.post("/agents", R"({"name":"crash-)" + std::to_string(i) + R"(","tenant_id":)" +
                                           (tenant.empty() ? std::string("null") : "\"" + tenant + "\"") + "}");
        if (r.status != 201) throw std::runtime_error("register agent: " + r.body);
        auto v = r.json();
        agents.push_back({std::string(v.at("id").as_string()), std::string(v.at("token").as_string()), tenant});
    }

    Acked acked;
    Errors errors;
    std::uint64_t lost = 0;
    std::uniform_int_distribution<std::uint64_t> answers(20, 400);
    for (int cycle = 0; cycle < options.cycles; ++cycle) {
        Cycle(server, agents, tenants, acked, errors).run(cycle + 1, options.workers, answers(rng),
                                                          static_cast<unsigned>(rng()));
        server.start(data, args);
        lost += verify(server, acked, agents);
    }
    server.stop();
    std::string kinds;
    for (const Kind kind : kKinds)
        kinds += std::string(kinds.empty() ? "" : ", ") + to_string(kind) + " " + std::to_string(acked.by_kind[kind]);
    std::cout << "fsync=" << mode << " cycles " << options.cycles << " acked " << acked.changes << " (" << kinds
              << ") lost " << lost << " double_claims " << acked.double_claims << " server_errors "
              << errors.server_errors << " unexpected " << errors.unexpected << " short_cycles " << errors.short_cycles
              << std::endl;
    if (options.expect_loss) {
        std::cout << "fsync=" << mode << (lost > 0 ? ": changes were lost, as expected (--expect-loss)"
                                                   : ": FAILED to notice lost changes (--expect-loss)")
                  << std::endl;
        return lost > 0 ? 0 : 1;
    }
    const bool clean = lost == 0 && acked.double_claims == 0 && errors.server_errors == 0 && errors.unexpected == 0 &&
                       errors.short_cycles == 0;
    return clean ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    const char* usage =
        "usage: taskd-crash-test [--cycles N] [--fsync always|interval|never|all] [--seed S] [--taskd-arg ARG]... "
        "[--expect-loss]\n";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        const std::string value = has_value ? argv[i + 1] : "";
        if (arg == "--expect-loss") options.expect_loss = true;
        else if (!has_value) {
            std::cerr << usage;
            return 2;
        } else if (arg == "--cycles") options.cycles = std::stoi(value), ++i;
        else if (arg == "--seed") options.seed = static_cast<unsigned>(std::stoul(value)), ++i;
        else if (arg == "--fsync" && value != "all") options.modes = {value}, ++i;
        else if (arg == "--fsync") ++i;
        else if (arg == "--taskd-arg") options.taskd_args.push_back(value), ++i;
        else {
            std::cerr << usage;
            return 2;
        }
    }
    std::cout << "taskd-crash-test: seed " << options.seed << " (taskd " << taskd_binary() << ")" << std::endl;
    std::mt19937 rng(options.seed);
    int status = 0;
    for (const auto& mode : options.modes) {
        try {
            status |= run_mode(mode, options, rng);
        } catch (const std::exception& e) {
            // A server that would not start or answer the checks: a failure in either verdict.
            std::cout << "fsync=" << mode << ": ERROR " << e.what() << std::endl;
            status = 1;
        }
    }
    return status;
}
