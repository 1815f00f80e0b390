// API.md "GET /tasks/next" `wait` (long poll) and "Fine print" (--max-waiters), on the real
// binary: a waiting agent gets a task created while it waits; null when nothing comes; many
// waiters on two threads; a new task wakes one waiter, not all; waiters that hang up take no
// task; the waiter limit; bad `wait` values; SIGTERM; a lease running out hands the task to a
// waiter.
//
// Synchronisation, never sleeps: "the long poll has begun" is the agent's last_seen_at moving
// (a long poll authenticates first, and every later step of the request runs on the server
// without waiting for the client); "the server has dropped a connection" is a slot freed under
// --max-connections. Every read is bounded (RawConnection: 15 s), shorter than the long polls'
// 30 s, so that a waiter the server forgot fails the test instead of answering null late.
#include "fixture.hpp"
#include "raw_connection.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <poll.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

// Bounds on loops that wait for an event by asking the server again; each pass is a round trip.
constexpr int kMaxPolls = 20'000;

std::string str(const json::value& v, const char* key) {
    const auto& field = v.at(key);
    return field.is_null() ? std::string("null") : std::string(field.as_string());
}

std::string next_target(const AgentCredentials& a, const std::string& wait) {
    return "/tasks/next?agent_id=" + a.id + "&wait=" + wait;
}

// A long poll sent on a connection of its own and not read yet.
struct LongPoll {
    LongPoll(ServerFixture& f, AgentCredentials a, int wait) : agent(std::move(a)), conn(f.server.port()) {
        conn.send(raw_request("GET", next_target(agent, std::to_string(wait)), agent.token));
    }
    // The answer: 200 and a task or null.
    json::value answer() {
        auto r = conn.try_read();
        BOOST_TEST_REQUIRE(r.has_value(), "no answer to the long poll of " << agent.id);
        BOOST_TEST_REQUIRE(r->result_int() == 200u, r->result_int() << " " << r->body());
        return json::parse(r->body());
    }
    void hang_up() {
        boost::system::error_code ignored;
        conn.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
        conn.socket().close(ignored);
    }
    AgentCredentials agent;
    RawConnection conn;
};
using LongPolls = std::vector<std::unique_ptr<LongPoll>>;

// Returns once GET /agents/{id} shows a last_seen_at: a request of that agent has authenticated.
void wait_until_seen(ServerFixture& f, const std::string& agent_id) {
    for (int i = 0; i < kMaxPolls; ++i)
        if (!f.admin.get("/agents/" + agent_id).json().at("last_seen_at").is_null()) return;
    BOOST_FAIL("agent " << agent_id << " was never seen");
}

// Sends each agent's long poll on its own connection, then waits until every one has begun.
LongPolls start_polls(ServerFixture& f, const std::vector<AgentCredentials>& agents, int wait) {
    LongPolls polls;
    for (const auto& a : agents) polls.push_back(std::make_unique<LongPoll>(f, a, wait));
    for (const auto& a : agents) wait_until_seen(f, a.id);
    return polls;
}

std::vector<AgentCredentials> agents_of(ServerFixture& f, const std::string& tenant, std::size_t n) {
    std::vector<AgentCredentials> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(f.register_agent(tenant, "waiter-" + std::to_string(i)));
    return out;
}

// The index of the first poll whose connection has something to read (an answer); -1 if none
// within the bound.
int first_answer(const LongPolls& polls) {
    std::vector<pollfd> fds;
    for (const auto& p : polls) fds.push_back({p->conn.socket().native_handle(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), kWaitBoundMs) <= 0) return -1;
    for (std::size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents != 0) return static_cast<int>(i);
    return -1;
}

std::string status_of(ServerFixture& f, const std::string& id) {
    return str(f.admin.get("/tasks/" + id).json(), "status");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(long_poll)

// The long poll has begun (last_seen_at moved) before the task is created, so its answer cannot be
// a task that was there before. Whether the task lands before the waiter registers (its first
// claim or the check after registering finds it) or after (a wake-up), the answer is that task:
// one task, one answer, whatever the interleaving. The 15 s read bound is half the 30 s wait.
BOOST_AUTO_TEST_CASE(a_waiting_agent_gets_a_task_created_during_its_wait) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    LongPolls polls = start_polls(f, agents_of(f, tenant, 1), 30);
    const std::string id = str(f.create_task(tenant), "id");
    const json::value got = polls[0]->answer();
    BOOST_TEST_REQUIRE(got.is_object(), "answered " << json::serialize(got));
    BOOST_TEST(str(got, "id") == id);
    BOOST_TEST(str(got, "status") == "running");
    BOOST_TEST(str(got, "agent_id") == polls[0]->agent.id);
}

BOOST_AUTO_TEST_CASE(wait_answers_null_when_nothing_comes) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const std::string elsewhere = str(f.create_task(new_uuid()), "id");  // another tenant's
    const AgentCredentials agent = f.register_agent(tenant);
    HttpClient client = f.client_with_token(agent.token);
    auto r = client.get(next_target(agent, "1"));
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.body == "null");
    BOOST_TEST(status_of(f, elsewhere) == "pending");
}

// No sync before the creates: a long poll that has not registered yet claims on arrival, one
// that has is woken; either way each of the 500 ends with exactly one task.
BOOST_AUTO_TEST_CASE(five_hundred_waiters_on_two_threads) {
    constexpr std::size_t kWaiters = 500;
    ServerFixture f({"--threads", "2"});
    const std::string tenant = new_uuid();
    std::vector<AgentCredentials> agents = agents_of(f, tenant, 4);
    agents.push_back(f.register_agent());  // and a shared agent
    LongPolls polls;
    for (std::size_t i = 0; i < kWaiters; ++i)
        polls.push_back(std::make_unique<LongPoll>(f, agents[i % agents.size()], 30));
    std::set<std::string> created;
    for (std::size_t i = 0; i < kWaiters; ++i) created.insert(str(f.create_task(tenant), "id"));

    std::set<std::string> answered;
    std::size_t nulls = 0, wrong_agent = 0;
    for (auto& p : polls) {
        const json::value got = p->answer();
        if (got.is_null()) {
            ++nulls;
            continue;
        }
        answered.insert(str(got, "id"));
        wrong_agent += str(got, "agent_id") != p->agent.id;
    }
    BOOST_TEST(nulls == 0u);
    BOOST_TEST(wrong_agent == 0u);
    BOOST_TEST(answered.size() == kWaiters);  // all distinct
    BOOST_TEST(answered == created);
    BOOST_TEST(f.admin.get("/tasks?status=pending").json().as_array().size() == 0u);
}

// One task for ten waiting agents: one answers with it, before any other answers; the other nine
// stay waiting and answer null at their deadline. The answers alone cannot tell "wake one" from
// "wake all" (a woken waiter that finds nothing waits again until the same deadline), so the
// server's debug log, which has a line per wake-up, is counted: one.
BOOST_AUTO_TEST_CASE(a_new_task_wakes_one_waiter_not_all) {
    ServerFixture f({"--log-level", "debug"});
    const std::string tenant = new_uuid();
    LongPolls polls = start_polls(f, agents_of(f, tenant, 10), 2);
    const std::string id = str(f.create_task(tenant), "id");
    const int first = first_answer(polls);
    BOOST_TEST_REQUIRE(first >= 0);
    const json::value winner = polls[static_cast<std::size_t>(first)]->answer();
    BOOST_TEST_REQUIRE(winner.is_object(), "the first answer was " << json::serialize(winner));
    BOOST_TEST(str(winner, "id") == id);
    std::size_t nulls = 0;
    for (std::size_t i = 0; i < polls.size(); ++i)
        if (static_cast<int>(i) != first) nulls += polls[i]->answer().is_null();
    BOOST_TEST(nulls == 9u);
    BOOST_TEST(str(f.admin.get("/tasks/" + id).json(), "agent_id") == polls[static_cast<std::size_t>(first)]->agent.id);
    // Stopped, the server has written its whole log, and the test has read it.
    BOOST_TEST_REQUIRE(f.server.stop() == 0);
    const std::string log = f.server.log();
    std::size_t wake_ups = 0;
    for (auto at = log.find("long poll woken"); at != std::string::npos; at = log.find("long poll woken", at + 1)) ++wake_ups;
    BOOST_TEST(wake_ups == 1u);
}

// Twenty waiters; ten hang up. Once the server has dropped those ten connections (observed as
// ten connection slots freed under --max-connections), ten tasks go to the ten that remain, none
// to a vanished one; an eleventh, with no waiter left, stays pending.
BOOST_AUTO_TEST_CASE(waiters_that_hang_up_take_no_task) {
    constexpr std::size_t kWaiters = 20, kGone = 10;
    // The admin's connection and the 20 waiters fill every slot.
    ServerFixture f({"--threads", "2", "--max-connections", std::to_string(kWaiters + 1)});
    const std::string tenant = new_uuid();
    LongPolls polls = start_polls(f, agents_of(f, tenant, kWaiters), 30);
    for (std::size_t i = 0; i < kGone; ++i) polls[2 * i]->hang_up();  // every other one

    // Fill the freed slots: a connection the server answers 200 holds a slot; a 503 means a
    // hung-up waiter still holds one, so try again. Ten fillers in: all ten were dropped.
    std::vector<std::unique_ptr<RawConnection>> fillers;
    for (int attempt = 0; fillers.size() < kGone && attempt < kMaxPolls; ++attempt) {
        auto c = std::make_unique<RawConnection>(f.server.port());
        c->send(raw_request("GET", "/healthz"));
        if (c->read_status() == 200u) fillers.push_back(std::move(c));
    }
    BOOST_TEST_REQUIRE(fillers.size() == kGone, "the server kept the hung-up connections");

    std::set<std::string> created, answered;
    for (std::size_t i = 0; i < kGone; ++i) created.insert(str(f.create_task(tenant), "id"));
    std::set<std::string> live_agents;
    for (std::size_t i = 0; i < kWaiters; i += 2) {
        LongPoll& live = *polls[i + 1];
        live_agents.insert(live.agent.id);
        const json::value got = live.answer();
        BOOST_TEST_REQUIRE(got.is_object(), "a live waiter answered " << json::serialize(got));
        answered.insert(str(got, "id"));
    }
    BOOST_TEST(answered == created);
    const json::array running = f.admin.get("/tasks?status=running").json().as_array();
    BOOST_TEST(running.size() == kGone);
    for (const auto& t : running)
        BOOST_TEST(live_agents.count(str(t, "agent_id")) == 1u, "held by " << str(t, "agent_id"));

    const std::string last = str(f.create_task(tenant), "id");
    BOOST_TEST(status_of(f, last) == "pending");
}

// --max-waiters 3 and four long polls: exactly one is refused, at once (before any task exists,
// while the others wait for 30 s), with 503, a detail and Retry-After; the other three waited.
BOOST_AUTO_TEST_CASE(one_long_poll_over_max_waiters_is_answered_503) {
    ServerFixture f({"--max-waiters", "3"});
    const std::string tenant = new_uuid();
    LongPolls polls = start_polls(f, agents_of(f, tenant, 4), 30);
    const int refused = first_answer(polls);
    BOOST_TEST_REQUIRE(refused >= 0);
    auto r = polls[static_cast<std::size_t>(refused)]->conn.try_read();
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->result_int() == 503u);
    BOOST_TEST(!(*r)[boost::beast::http::field::retry_after].empty());
    const json::value body = json::parse(r->body());
    BOOST_TEST(body.at("detail").is_string());

    std::set<std::string> created, answered;
    for (int i = 0; i < 3; ++i) created.insert(str(f.create_task(tenant), "id"));
    for (std::size_t i = 0; i < polls.size(); ++i) {
        if (static_cast<int>(i) == refused) continue;
        const json::value got = polls[i]->answer();
        BOOST_TEST_REQUIRE(got.is_object(), "a waiter answered " << json::serialize(got));
        answered.insert(str(got, "id"));
    }
    BOOST_TEST(answered == created);
}

BOOST_AUTO_TEST_CASE(an_invalid_wait_is_422) {
    ServerFixture f;
    const AgentCredentials agent = f.register_agent(new_uuid());
    HttpClient client = f.client_with_token(agent.token);
    for (const std::string wait : {"61", "-1", "abc", "", "1.5"}) {
        BOOST_TEST_CONTEXT("wait=" << wait) {
            auto r = client.get(next_target(agent, wait));
            BOOST_TEST_REQUIRE(r.status == 422u, r.body);
            const json::value body = r.json();
            const json::array& detail = body.at("detail").as_array();
            BOOST_TEST_REQUIRE(detail.size() == 1u);
            BOOST_TEST(detail[0].at("loc") == json::parse(R"(["query","wait"])"));
        }
    }
}

// SIGTERM while five long polls wait: each is answered null, and the server exits 0.
BOOST_AUTO_TEST_CASE(sigterm_answers_waiting_long_polls_null) {
    ServerFixture f;
    LongPolls polls = start_polls(f, agents_of(f, new_uuid(), 5), 30);
    f.server.signal(SIGTERM);
    for (auto& p : polls) BOOST_TEST(p->answer().is_null());
    BOOST_TEST(f.server.stop(0) == 0);  // signal 0: only wait for the exit
}

// A lease of 1 s runs out under agent A; the maintenance pass (every 50 ms) re-queues the task
// and wakes B's long poll, which claims it. The expiry is observed as B's claim, not awaited.
BOOST_AUTO_TEST_CASE(an_expired_lease_goes_to_a_waiting_agent) {
    ServerFixture f({"--maintenance-interval", "50ms"});
    const std::string tenant = new_uuid();
    auto created = f.admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"t","lease_seconds":1})");
    BOOST_TEST_REQUIRE(created.status == 201u);
    const std::string id = str(created.json(), "id");
    const AgentCredentials a = f.register_agent(tenant, "a");
    HttpClient client_a = f.client_with_token(a.token);
    auto claim = client_a.get("/tasks/next?agent_id=" + a.id);
    BOOST_TEST_REQUIRE(claim.status == 200u);
    BOOST_TEST_REQUIRE(str(claim.json(), "id") == id);

    LongPoll b(f, f.register_agent(tenant, "b"), 10);
    const json::value got = b.answer();
    BOOST_TEST_REQUIRE(got.is_object(), "B answered " << json::serialize(got));
    BOOST_TEST(str(got, "id") == id);
    BOOST_TEST(str(got, "agent_id") == b.agent.id);
    BOOST_TEST(got.at("attempts").as_int64() == 2);

    auto late = client_a.patch("/tasks/" + id, R"({"status":"completed"})");
    BOOST_TEST(late.status == 404u, late.body);  // the task names B now: A learns nothing of it
    const json::value now = f.admin.get("/tasks/" + id).json();
    BOOST_TEST(str(now, "status") == "running");
    BOOST_TEST(str(now, "agent_id") == b.agent.id);
}

// Two tasks come back at once and three long polls may take them: both must be handed out.
// X1 (tenant X, older) and Y1 (tenant Y) run under agents of their tenants with 1 s leases, Y1's
// claimed first, so that one expiry pass releases Y1 then X1 and wakes, in that order, shared S
// (for Y1) then W of tenant X (for X1); S2, shared, waits too. On one server thread S runs first
// and takes the oldest task it may: X1. W then finds nothing and waits again, and Y1 must still
// go to S2, which is waiting and may take it. Two answers must come, holding X1 and Y1; S2
// answering only at its 30 s deadline fails the 15 s read bound. (max_attempts 2: a second
// expiry fails the tasks instead of re-queueing them, so nothing is handed out twice.)
BOOST_AUTO_TEST_CASE(a_wake_up_is_passed_on_when_its_task_went_to_another_waiter) {
    ServerFixture f({"--threads", "1", "--maintenance-interval", "2s"});
    const std::string x = new_uuid(), y = new_uuid();
    auto create = [&](const std::string& tenant) {
        auto r = f.admin.post("/tasks", R"({"tenant_id":")" + tenant +
                                            R"(","type":"t","lease_seconds":1,"max_attempts":2})");
        BOOST_TEST_REQUIRE(r.status == 201u);
        return str(r.json(), "id");
    };
    const std::string x1 = create(x), y1 = create(y);
    for (const auto& [tenant, id] : {std::pair{y, y1}, std::pair{x, x1}}) {
        const AgentCredentials holder = f.register_agent(tenant, "holder");
        HttpClient c = f.client_with_token(holder.token);
        BOOST_TEST_REQUIRE(str(c.get("/tasks/next?agent_id=" + holder.id).json(), "id") == id);
    }
    LongPolls polls;  // W, S, S2, each registered before the next begins
    for (const std::string& tenant : {x, std::string{}, std::string{}}) {
        polls.push_back(std::make_unique<LongPoll>(f, f.register_agent(tenant, "waiter"), 30));
        wait_until_seen(f, polls.back()->agent.id);
    }
    std::set<std::string> answered;
    for (int n = 0; n < 2; ++n) {
        const int i = first_answer(polls);
        BOOST_TEST_REQUIRE(i >= 0, "only " << answered.size() << " of the two tasks were handed out");
        const json::value got = polls[static_cast<std::size_t>(i)]->answer();
        BOOST_TEST_REQUIRE(got.is_object(), "a waiter answered " << json::serialize(got));
        answered.insert(str(got, "id"));
        polls.erase(polls.begin() + i);
    }
    BOOST_TEST(answered == (std::set<std::string>{x1, y1}));
}

BOOST_AUTO_TEST_SUITE_END()
