// Claims over HTTP at scale: a real taskd on two threads (and again on one), 20,000 pending
// tasks over four tenants, 64 keep-alive connections (one thread and one agent each: 48 tenant
// agents, 16 shared) claiming at once until nothing is left for them.
//
// Afterwards: every task was claimed exactly once, each by an agent allowed to take it, and the
// answer said so (running, held by the claimer, first attempt); the server agrees: 20,000 tasks
// running, each under the agent that was told it won it, none pending.
#include "fixture.hpp"
#include "guarded.hpp"

#include <boost/json.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

constexpr std::size_t kTasks = 20'000;
constexpr std::size_t kTenants = 4;
constexpr std::size_t kConnections = 64;
constexpr std::size_t kSharedAgents = 16;  // the other 48 are 12 per tenant
constexpr std::size_t kCreators = 8;       // connections that create the tasks (group commit)

std::string str(const json::value& v, const char* key) {
    const auto& field = v.at(key);
    return field.is_null() ? std::string("null") : std::string(field.as_string());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_exactly_once)

// Two serving threads (a strand per connection) and one (no strands: the writer thread's
// completions are posted straight to the io_context).
BOOST_DATA_TEST_CASE(sixty_four_connections_20000_tasks, boost::unit_test::data::make({"2", "1"}), threads) {
    ServerFixture f({"--threads", threads});
    std::vector<std::string> tenants;
    for (std::size_t i = 0; i < kTenants; ++i) tenants.push_back(new_uuid());

    // Create the tasks from several connections at once; remember each one's tenant.
    std::mutex mutex;
    std::map<std::string, std::string> tenant_of;  // task id -> tenant
    std::vector<std::string> errors;
    {
        std::vector<std::thread> creators;
        for (std::size_t c = 0; c < kCreators; ++c) {
            creators.emplace_back([&, c] {
                guarded(mutex, errors, [&] {
                    HttpClient admin = f.client_with_token(f.server.admin_token());
                    for (std::size_t i = c; i < kTasks; i += kCreators) {
                        const std::string& tenant = tenants[i % kTenants];
                        const std::string payload = R"({"i":)" + std::to_string(i) + "}";
                        auto r = admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"stress","payload":)" +
                                                          payload + "}");
                        if (r.status != 201)
                            throw std::runtime_error("create: " + std::to_string(r.status) + " " + r.body);
                        std::lock_guard lock(mutex);
                        tenant_of[str(r.json(), "id")] = tenant;
                    }
                });
            });
        }
        for (auto& t : creators) t.join();
    }
    BOOST_TEST_REQUIRE(errors.empty(), (errors.empty() ? "" : errors.front()));
    BOOST_TEST_REQUIRE(tenant_of.size() == kTasks);

    std::vector<AgentCredentials> agents;
    for (std::size_t i = 0; i < kConnections - kSharedAgents; ++i)
        agents.push_back(f.register_agent(tenants[i % kTenants]));
    for (std::size_t i = 0; i < kSharedAgents; ++i) agents.push_back(f.register_agent());

    // Each claimer: its own connection, claims until the server says null.
    std::vector<std::vector<std::string>> claimed(kConnections);  // per agent, the task ids
    std::latch start(static_cast<std::ptrdiff_t>(kConnections));
    std::vector<std::thread> claimers;
    for (std::size_t a = 0; a < kConnections; ++a) {
        claimers.emplace_back([&, a] {
            HttpClient client = f.client_with_token(agents[a].token);
            start.arrive_and_wait();
            guarded(mutex, errors, [&] {
                const std::string target = "/tasks/next?agent_id=" + agents[a].id;
                // Bounded: no agent can win more than every task.
                for (std::size_t n = 0; n <= kTasks; ++n) {
                    auto r = client.get(target);
                    if (r.status != 200) throw std::runtime_error(std::to_string(r.status) + " " + r.body);
                    const json::value v = r.json();
                    if (v.is_null()) return;
                    if (str(v, "status") != "running" || str(v, "agent_id") != agents[a].id ||
                        v.at("attempts").as_int64() != 1)
                        throw std::runtime_error("claim answered " + r.body);
                    claimed[a].push_back(str(v, "id"));
                }
            });
        });
    }
    for (auto& t : claimers) t.join();
    BOOST_TEST(errors.empty(), errors.size() << " errors; first: " << (errors.empty() ? "" : errors.front()));

    // Exactly once, and only by an agent allowed to take the task.
    std::map<std::string, std::string> winner;  // task id -> agent id
    std::size_t claims = 0, twice = 0, unknown = 0, out_of_scope = 0;
    for (std::size_t a = 0; a < kConnections; ++a) {
        for (const std::string& id : claimed[a]) {
            ++claims;
            auto tenant = tenant_of.find(id);
            if (tenant == tenant_of.end()) {
                ++unknown;
                continue;
            }
            if (!agents[a].tenant_id.empty() && agents[a].tenant_id != tenant->second) ++out_of_scope;
            if (!winner.emplace(id, agents[a].id).second) ++twice;
        }
    }
    BOOST_TEST(twice == 0u);
    BOOST_TEST(unknown == 0u);
    BOOST_TEST(out_of_scope == 0u);
    BOOST_TEST(claims == kTasks);
    BOOST_TEST(winner.size() == kTasks);

    // The server's view: every task running under the agent that was told it won it.
    const json::array running = f.admin.get("/tasks?status=running").json().as_array();
    BOOST_TEST(running.size() == kTasks);
    std::size_t disagree = 0;
    for (const auto& t : running) {
        auto w = winner.find(str(t, "id"));
        disagree += w == winner.end() || w->second != str(t, "agent_id");
    }
    BOOST_TEST(disagree == 0u);
    BOOST_TEST(f.admin.get("/tasks?status=pending").json().as_array().size() == 0u);
    BOOST_TEST(f.admin.get("/tasks").json().as_array().size() == kTasks);
    BOOST_TEST(f.server.stop() == 0);
    // Under ThreadSanitizer the server reports races on its own output.
    BOOST_TEST(f.server.log().find("ThreadSanitizer") == std::string::npos, f.server.log());
}

BOOST_AUTO_TEST_SUITE_END()
