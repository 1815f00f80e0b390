// taskd-crash-test: kill -9 the real server at random moments and check that nothing it
// answered was lost and that no task was ever handed to two agents.
//
//   taskd-crash-test [--cycles N] [--fsync always|interval|never|all] [--seed S]
//
// Each cycle: start taskd on the same data directory, let worker threads create tasks (admin),
// claim them (agents) and complete them (holders) over HTTP, recording every change the server
// answered; after a random number of answers, kill -9 the server mid-traffic; restart it and
// check every answered change against what the server now holds. Agents are registered in the
// first cycle and must keep working across every restart. Prints, per mode,
//   fsync=always cycles 50 acked N lost 0 double_claims 0
// and exits 1 if anything was lost or claimed twice.
#include "http_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
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

struct Acked {
    std::map<std::string, std::string> created;    // task id -> tenant
    std::map<std::string, std::string> claimed;    // task id -> agent id
    std::map<std::string, std::string> completed;  // task id -> result text
    std::uint64_t changes = 0;
    std::uint64_t double_claims = 0;
};

struct Options {
    int cycles = 50;
    std::vector<std::string> modes{"always", "interval", "never"};
    unsigned seed = std::random_device{}();
    int workers = 6;
};

class Cycle {
public:
    Cycle(ServerProcess& server, std::vector<Agent>& agents, std::vector<std::string>& tenants, Acked& acked)
        : server_(server), agents_(agents), tenants_(tenants), acked_(acked) {}

    // Runs traffic until `answers` changes were acknowledged, then kills the server.
    void run(int workers, std::uint64_t answers, unsigned seed) {
        seed_ = seed;
        target_ = acked_.changes + answers;
        std::vector<std::thread> threads;
        for (int w = 0; w < workers; ++w) threads.emplace_back([this, w] { work(static_cast<unsigned>(w)); });
        {
            std::unique_lock lock(mutex_);
            progress_.wait(lock, [&] { return acked_.changes >= target_ || idle_ == threads.size(); });
        }
        server_.kill();
        for (auto& t : threads) t.join();
    }

private:
    void record(const std::function<void()>& change) {
        std::lock_guard lock(mutex_);
        change();
        ++acked_.changes;
        if (acked_.changes >= target_) progress_.notify_all();
    }

    void work(unsigned index) {
        std::mt19937 rng(seed_ + index);
        HttpClient admin(server_.port());
        admin.set_token(server_.admin_token());
        const Agent& agent = agents_[index % agents_.size()];
        HttpClient edge(server_.port());
        edge.set_token(agent.token);
        std::vector<std::string> holding;
        try {
            for (;;) {
                const int op = static_cast<int>(rng() % 3);
                if (op == 0) {
                    const std::string tenant = tenants_[rng() % tenants_.size()];
                    auto r = admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"crash","payload":{}})");
                    if (r.status != 201) throw std::runtime_error("create " + std::to_string(r.status) + " " + r.body);
                    const std::string id(r.json().at("id").as_string());
                    record([&] { acked_.created[id] = tenant; });
                } else if (op == 1) {
                    auto r = edge.get("/tasks/next?agent_id=" + agent.id);
                    if (r.status != 200) throw std::runtime_error("claim " + std::to_string(r.status) + " " + r.body);
                    if (r.body == "null") continue;
                    const std::string id(r.json().at("id").as_string());
                    holding.push_back(id);
                    record([&] {
                        if (acked_.claimed.count(id)) {
                            ++acked_.double_claims;
                            std::cerr << "DOUBLE CLAIM: task " << id << " answered to " << acked_.claimed[id]
                                      << " and to " << agent.id << "\n";
                        }
                        acked_.claimed[id] = agent.id;
                    });
                } else if (!holding.empty()) {
                    const std::string id = holding.back();
                    holding.pop_back();
                    const std::string result = R"({"by":")" + agent.id + R"(","n":)" + std::to_string(rng() % 1000) + "}";
                    auto r = edge.patch("/tasks/" + id, R"({"status":"completed","result":)" + result + "}");
                    if (r.status != 200) throw std::runtime_error("complete " + std::to_string(r.status) + " " + r.body);
                    record([&] { acked_.completed[id] = result; });
                }
            }
        } catch (const std::exception&) {
            // The server was killed (or refused): this worker is done for the cycle.
        }
        std::lock_guard lock(mutex_);
        ++idle_;
        progress_.notify_all();
    }

    ServerProcess& server_;
    std::vector<Agent>& agents_;
    std::vector<std::string>& tenants_;
    Acked& acked_;
    std::mutex mutex_;
    std::condition_variable progress_;
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
        const bool held = (t.at("status") == "running" || t.at("status") == "completed") && t.at("agent_id").is_string() &&
                          t.at("agent_id").as_string() == agent && t.at("attempts").as_int64() == 1;
        if (!held) report("claim of " + id + " by " + agent + ", found " + json::serialize(t));
    }
    for (const auto& [id, result] : acked.completed) {
        auto it = tasks.find(id);
        if (it == tasks.end()) continue;
        if (it->second.at("status") != "completed" || json::serialize(it->second.at("result")) != json::serialize(json::parse(result)))
            report("completion of " + id + ", found " + json::serialize(it->second));
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
    const std::vector<std::string> args{"--fsync", mode, "--threads", "2"};
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
    std::uint64_t lost = 0;
    std::uniform_int_distribution<std::uint64_t> answers(20, 400);
    for (int cycle = 0; cycle < options.cycles; ++cycle) {
        Cycle(server, agents, tenants, acked).run(options.workers, answers(rng), static_cast<unsigned>(rng()));
        server.start(data, args);
        lost += verify(server, acked, agents);
    }
    server.stop();
    std::cout << "fsync=" << mode << " cycles " << options.cycles << " acked " << acked.changes << " lost " << lost
              << " double_claims " << acked.double_claims << std::endl;
    return lost == 0 && acked.double_claims == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const std::string value = i + 1 < argc ? argv[i + 1] : "";
        if (arg == "--cycles") options.cycles = std::stoi(value), ++i;
        else if (arg == "--seed") options.seed = static_cast<unsigned>(std::stoul(value)), ++i;
        else if (arg == "--fsync" && value != "all") options.modes = {value}, ++i;
        else if (arg == "--fsync") ++i;
        else {
            std::cerr << "usage: taskd-crash-test [--cycles N] [--fsync always|interval|never|all] [--seed S]\n";
            return 2;
        }
    }
    std::cout << "taskd-crash-test: seed " << options.seed << " (taskd " << taskd_binary() << ")" << std::endl;
    std::mt19937 rng(options.seed);
    int status = 0;
    for (const auto& mode : options.modes) status |= run_mode(mode, options, rng);
    return status;
}
