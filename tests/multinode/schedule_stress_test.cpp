// Scheduling under concurrency on PostgreSQL (issue 23), over HTTP: two nodes on one database,
// in both shared claim orders. Tasks of every priority over three tenants, a third of them
// delayed (some by `not_before`, some by `delay_seconds`), are created on both nodes, before and
// while six agents (one per tenant, three shared) claim through long polls, each alternating
// between the nodes, until every task is claimed.
//
// Afterwards: every task was claimed exactly once, by an agent allowed to take it; none before
// its not_before, by the node's clock (the claim's updated_at) or by ours (when its answer
// came); and no node reported a race (the suite also runs against a ThreadSanitizer build).
#include "guarded.hpp"
#include "model/schedule.hpp"
#include "model/time.hpp"
#include "two_nodes.hpp"

#include <boost/json.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace taskd::test {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr std::size_t kTenants = 3;
constexpr std::size_t kUpfront = 600;   // created before the agents start
constexpr std::size_t kProduced = 400;  // created while they claim
constexpr std::size_t kTasks = kUpfront + kProduced;
constexpr int kSpreadMs = 1500;  // not_before: up to this far ahead of the task's create

model::Timestamp time_of(const json::value& task, const char* key) {
    const auto& field = task.at(key);
    if (field.is_null()) return model::kNoTime;
    const auto parsed = model::parse_rfc3339(field.as_string());
    if (parsed.outcome != model::TimeParse::ok) throw std::runtime_error(std::string("bad time in ") + key);
    return parsed.time;
}

model::Timestamp now() { return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()); }

// Task i: priority i % 10; every third delayed, by `not_before` (up to kSpreadMs ahead, written
// with an offset of +01:00) or, every ninth, by `delay_seconds: 1`.
std::string scheduled_body(const std::string& tenant, std::size_t i) {
    std::string body = R"({"tenant_id":")" + tenant + R"(","type":"stress","payload":{"i":)" + std::to_string(i) +
                       R"(},"priority":)" + std::to_string(i % 10);
    if (i % 9 == 0) {
        body += R"(,"delay_seconds":1)";
    } else if (i % 3 == 0) {
        const auto at = now() + milliseconds{static_cast<int>(i * 7 % kSpreadMs)} + std::chrono::hours{1};
        std::string text = model::to_rfc3339(at);  // "...Z": an hour ahead, written as +01:00
        text.replace(text.size() - 1, 1, "+01:00");
        body += R"(,"not_before":")" + text + "\"";
    }
    return body + "}";
}

struct Claim {
    std::string id;
    std::size_t agent = 0;
    model::Timestamp at{};          // the task's updated_at: the node's time of the claim
    model::Timestamp answered{};    // our clock, when the answer came
    model::Timestamp not_before{};  // as the claim's answer shows it
};

BOOST_AUTO_TEST_SUITE(multi_node_scheduling)

BOOST_DATA_TEST_CASE(every_task_claimed_once_never_before_its_time, boost::unit_test::data::make({"oldest", "fair"}),
                     order) {
    TwoNodes nodes({"--shared-claim-order", order});
    ServerProcess* node[2] = {&nodes.a, &nodes.b};
    std::vector<std::string> tenants;
    for (std::size_t i = 0; i < kTenants; ++i) tenants.push_back(new_uuid());

    std::mutex mutex;
    std::vector<std::string> errors;
    std::map<std::string, std::pair<std::size_t, model::Timestamp>> created;  // id -> tenant, not_before
    auto create = [&](HttpClient* admin, std::size_t i) {
        auto r = admin[i % 2].post("/tasks", scheduled_body(tenants[i % kTenants], i));
        if (r.status != 201) throw std::runtime_error("create: " + std::to_string(r.status) + " " + r.body);
        const json::value v = r.json();
        std::lock_guard lock(mutex);
        created[id_of(r)] = {i % kTenants, time_of(v, "not_before")};
    };
    {
        HttpClient admin[2] = {TwoNodes::admin(nodes.a), TwoNodes::admin(nodes.b)};
        for (std::size_t i = 0; i < kUpfront; ++i) create(admin, i);
    }

    std::vector<AgentCredentials> agents;
    {
        auto admin = TwoNodes::admin(nodes.a);
        for (std::size_t i = 0; i < kTenants; ++i) agents.push_back(register_agent(admin, tenants[i]));
        for (std::size_t i = 0; i < 3; ++i) agents.push_back(register_agent(admin, std::string()));
    }

    std::atomic<std::size_t> claimed_count{0};
    std::atomic<bool> producing{true};
    std::vector<Claim> claims;
    std::latch go(static_cast<std::ptrdiff_t>(agents.size() + 1));
    std::vector<std::thread> threads;
    threads.emplace_back([&] {  // the producer, alternating between the nodes
        HttpClient admin[2] = {TwoNodes::admin(nodes.a), TwoNodes::admin(nodes.b)};
        go.arrive_and_wait();
        guarded(mutex, errors, [&] {
            for (std::size_t i = kUpfront; i < kTasks; ++i) create(admin, i);
        });
        producing = false;
    });
    for (std::size_t a = 0; a < agents.size(); ++a) {
        threads.emplace_back([&, a] {
            HttpClient on[2] = {TwoNodes::as(*node[0], agents[a].token), TwoNodes::as(*node[1], agents[a].token)};
            const std::string target = "/tasks/next?wait=1&agent_id=" + agents[a].id;
            go.arrive_and_wait();
            std::vector<Claim> mine;
            guarded(mutex, errors, [&] {
                // Bounded: every task, and a one-second poll for each of the spread's seconds and more.
                for (std::size_t n = 0; n < kTasks + 100 && (producing || claimed_count.load() < kTasks); ++n) {
                    auto r = on[n % 2].get(target);
                    const auto answered = now();
                    if (r.status != 200) throw std::runtime_error("claim: " + std::to_string(r.status) + " " + r.body);
                    const json::value v = r.json();
                    if (v.is_null()) continue;
                    if (v.at("status").as_string() != "running" || v.at("agent_id").as_string() != agents[a].id)
                        throw std::runtime_error("claim answered " + r.body);
                    mine.push_back({std::string(v.at("id").as_string()), a, time_of(v, "updated_at"), answered,
                                    time_of(v, "not_before")});
                    claimed_count.fetch_add(1);
                }
            });
            std::lock_guard lock(mutex);
            claims.insert(claims.end(), mine.begin(), mine.end());
        });
    }
    for (auto& t : threads) t.join();
    BOOST_TEST(errors.empty(), errors.size() << " errors; first: " << (errors.empty() ? "" : errors.front()));

    std::map<std::string, int> times;
    std::size_t unknown = 0, out_of_scope = 0, changed = 0, early = 0, early_by_us = 0, delayed = 0;
    for (const Claim& c : claims) {
        ++times[c.id];
        auto task = created.find(c.id);
        if (task == created.end()) {
            ++unknown;
            continue;
        }
        const auto& [tenant, not_before] = task->second;
        if (!agents[c.agent].tenant_id.empty() && agents[c.agent].tenant_id != tenants[tenant]) ++out_of_scope;
        changed += c.not_before != not_before;
        if (not_before == model::kNoTime) continue;
        ++delayed;
        early += c.at < not_before;
        early_by_us += c.answered < not_before;
    }
    std::size_t twice = 0;
    for (const auto& [id, n] : times) twice += n > 1;
    BOOST_TEST(twice == 0u);
    BOOST_TEST(unknown == 0u);
    BOOST_TEST(out_of_scope == 0u);
    BOOST_TEST(times.size() == kTasks);  // every task claimed
    BOOST_TEST(claims.size() == kTasks);
    BOOST_TEST(changed == 0u);  // a claim keeps the task's not_before
    BOOST_TEST(delayed == (kTasks + 2) / 3);
    BOOST_TEST(early == 0u);        // by the node's clock
    BOOST_TEST(early_by_us == 0u);  // by ours

    auto admin = TwoNodes::admin(nodes.b);
    BOOST_TEST(admin.get("/tasks?status=pending").json().as_array().size() == 0u);
    BOOST_TEST(admin.get("/tasks?status=running").json().as_array().size() == kTasks);
    for (ServerProcess* n : node) {
        BOOST_TEST(n->stop() == 0);
        BOOST_TEST(n->log().find("ThreadSanitizer") == std::string::npos, n->log());
    }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace taskd::test
