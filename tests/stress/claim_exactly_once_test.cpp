// Claims under concurrency, over HTTP: many agents at once, every task handed out exactly once.
//
// 8 client threads, each an agent on its own keep-alive connection (tenant agents of several
// tenants, and shared agents), claim from 5,000 pending tasks until nothing is left for them.
// Afterwards: every task was claimed exactly once, each by an agent allowed to take it, and
// the server agrees (5,000 running, none pending).
#include "fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace taskd::test;

BOOST_AUTO_TEST_SUITE(claim_exactly_once)

BOOST_AUTO_TEST_CASE(eight_agents_5000_tasks) {
    constexpr int kTasks = 5000;
    constexpr int kTenants = 4;
    ServerFixture f({"--threads", "4"});

    std::vector<std::string> tenants;
    for (int i = 0; i < kTenants; ++i) tenants.push_back(new_uuid());
    std::set<std::string> created;
    std::map<std::string, std::string> tenant_of;
    for (int i = 0; i < kTasks; ++i) {
        auto task = f.create_task(tenants[static_cast<std::size_t>(i % kTenants)], "stress", "{\"i\":" + std::to_string(i) + "}");
        const std::string id(task.at("id").as_string());
        created.insert(id);
        tenant_of[id] = std::string(task.at("tenant_id").as_string());
    }

    // Six tenant agents (two tenants have two each) and two shared agents.
    std::vector<AgentCredentials> agents;
    for (int i = 0; i < 6; ++i) agents.push_back(f.register_agent(tenants[static_cast<std::size_t>(i % kTenants)]));
    for (int i = 0; i < 2; ++i) agents.push_back(f.register_agent());

    std::mutex mutex;
    std::vector<std::pair<std::size_t, std::string>> claims;  // (agent index, task id)
    std::vector<std::string> errors;
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (std::size_t a = 0; a < agents.size(); ++a) {
        threads.emplace_back([&, a] {
            HttpClient client = f.client_with_token(agents[a].token);
            ready.fetch_add(1);
            while (ready.load() < static_cast<int>(agents.size())) std::this_thread::yield();
            for (;;) {
                auto r = client.get("/tasks/next?agent_id=" + agents[a].id);
                std::lock_guard lock(mutex);
                if (r.status != 200) {
                    errors.push_back(std::to_string(r.status) + " " + r.body);
                    return;
                }
                if (r.body == "null") return;
                claims.emplace_back(a, std::string(r.json().at("id").as_string()));
            }
        });
    }
    for (auto& t : threads) t.join();

    BOOST_TEST(errors.empty(), "first error: " << (errors.empty() ? "" : errors.front()));
    std::map<std::string, int> times_claimed;
    for (const auto& [agent, task] : claims) {
        ++times_claimed[task];
        BOOST_TEST(created.count(task) == 1u, "claimed a task that was never created: " << task);
        const auto& tenant = agents[agent].tenant_id;
        BOOST_TEST((tenant.empty() || tenant == tenant_of[task]), "agent of tenant " << tenant << " got " << task);
    }
    int twice = 0;
    for (const auto& [task, n] : times_claimed) twice += n > 1;
    BOOST_TEST(twice == 0);
    BOOST_TEST(claims.size() == static_cast<std::size_t>(kTasks));
    BOOST_TEST(times_claimed.size() == created.size());

    auto running = f.admin.get("/tasks?status=running").json().as_array();
    auto pending = f.admin.get("/tasks?status=pending").json().as_array();
    BOOST_TEST(running.size() == static_cast<std::size_t>(kTasks));
    BOOST_TEST(pending.size() == 0u);
    BOOST_TEST(f.server.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
