// Issue 19, item 3: the isolation matrix. Rows are callers, columns the endpoints of API.md; each
// cell is the status that caller gets. The task in question is tenant A's task held by agent A.
// Rule (README "Isolation"): an agent learns of a task only if it holds it now or held it last
// (agent_id is this agent); any other task answers exactly as a missing one (404, "Task <id> not
// found"). A deleted agent's token is dead at once (401), including for a long poll already waiting.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <future>
#include <map>
#include <string>

using namespace taskd::test;
namespace json = boost::json;

namespace {

enum class Caller { agent_a, peer_a, agent_b, shared, admin, no_token, wrong_token, deleted };
constexpr std::array kCallers{Caller::agent_a,  Caller::peer_a,      Caller::agent_b, Caller::shared,
                              Caller::admin,    Caller::no_token,    Caller::wrong_token, Caller::deleted};

const char* caller_name(Caller c) {
    switch (c) {
        case Caller::agent_a: return "agent of tenant A (holder)";
        case Caller::peer_a: return "another agent of tenant A";
        case Caller::agent_b: return "agent of tenant B";
        case Caller::shared: return "shared agent";
        case Caller::admin: return "admin";
        case Caller::no_token: return "no token";
        case Caller::wrong_token: return "wrong token";
        case Caller::deleted: return "deleted agent of tenant A";
    }
    return "?";
}

constexpr unsigned kSkip = 0;  // not sent: the admin deleting agent A would end the table

// {tenant} tenant A; {task} tenant A's task held by agent A; {self} the caller's own agent id
// (agent A's for admin and anonymous callers); {victim} an agent made for this request.
struct Row {
    const char* method;
    const char* target;
    const char* body;
    std::array<unsigned, kCallers.size()> expected;  // A, A's peer, B, shared, admin, none, wrong, deleted
};

const Row kMatrix[] = {
    {"POST", "/tasks", R"({"tenant_id":"{tenant}","type":"noop"})", {403, 403, 403, 403, 201, 401, 401, 401}},
    {"GET", "/tasks", "", {403, 403, 403, 403, 200, 401, 401, 401}},
    {"GET", "/tasks?tenant_id={tenant}", "", {403, 403, 403, 403, 200, 401, 401, 401}},
    {"GET", "/tasks/{task}", "", {200, 404, 404, 404, 200, 401, 401, 401}},
    // PATCH follows GET's rule: a task the agent does not hold (or hold last) is missing to it.
    {"PATCH", "/tasks/{task}", R"({"result":{"progress":1}})", {200, 404, 404, 404, 200, 401, 401, 401}},
    {"GET", "/tasks/next?agent_id={self}", "", {200, 200, 200, 200, 403, 401, 401, 401}},
    // Another agent's id with one's own token: 401, as in the original.
    {"GET", "/tasks/next?agent_id={other}", "", {401, 401, 401, 401, 403, 401, 401, 401}},
    {"POST", "/agents", R"({"name":"new","tenant_id":"{tenant}"})", {403, 403, 403, 403, 201, 401, 401, 401}},
    {"GET", "/agents", "", {403, 403, 403, 403, 200, 401, 401, 401}},
    {"GET", "/agents/{self}", "", {403, 403, 403, 403, 200, 401, 401, 401}},
    {"DELETE", "/agents/{victim}", "", {403, 403, 403, 403, 204, 401, 401, 401}},
    {"DELETE", "/agents/{self}", "", {403, 403, 403, 403, kSkip, 401, 401, 401}},
    {"GET", "/healthz", "", {200, 200, 200, 200, 200, 200, 200, 200}},
    {"GET", "/readyz", "", {200, 200, 200, 200, 200, 200, 200, 200}},
    {"GET", "/metrics", "", {200, 200, 200, 200, 200, 200, 200, 200}},
};

std::string fill(std::string text, const std::map<std::string, std::string>& vars) {
    for (const auto& [name, value] : vars)
        for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size()))
            text.replace(at, name.size(), value);
    return text;
}

std::string detail_of(const HttpResponse& r) {
    boost::system::error_code ec;
    const json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("detail") || !v.at("detail").is_string()) return "<no detail>";
    return std::string(v.at("detail").get_string());
}

std::string id_of(const json::value& v) { return std::string(v.at("id").as_string()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(isolation)

BOOST_AUTO_TEST_CASE(matrix_of_callers_and_endpoints) {
    ServerFixture f;
    const std::string tenant_a = new_uuid();
    const std::string tenant_b = new_uuid();
    const AgentCredentials a = f.register_agent(tenant_a, "a");
    const AgentCredentials peer = f.register_agent(tenant_a, "peer");
    const AgentCredentials b = f.register_agent(tenant_b, "b");
    const AgentCredentials shared = f.register_agent({}, "shared");
    const AgentCredentials gone = f.register_agent(tenant_a, "gone");
    BOOST_TEST_REQUIRE(f.admin.del("/agents/" + gone.id).status == 204u);
    const std::string task = id_of(f.create_task(tenant_a));
    {
        HttpClient holder = f.client_with_token(a.token);
        auto claimed = holder.get("/tasks/next?agent_id=" + a.id);
        BOOST_TEST_REQUIRE(claimed.status == 200u);
        BOOST_TEST_REQUIRE(id_of(claimed.json()) == task);
    }
    const std::string tenant_a_id_text = tenant_a;

    for (const Row& row : kMatrix) {
        for (std::size_t c = 0; c < kCallers.size(); ++c) {
            const Caller caller = kCallers[c];
            const unsigned want = row.expected[c];
            if (want == kSkip) continue;
            HttpClient client = f.client();
            std::string self = a.id;
            std::string other = b.id;
            switch (caller) {
                case Caller::agent_a: client = f.client_with_token(a.token); break;
                case Caller::peer_a: client = f.client_with_token(peer.token); self = peer.id; break;
                case Caller::agent_b: client = f.client_with_token(b.token); self = b.id; other = a.id; break;
                case Caller::shared: client = f.client_with_token(shared.token); self = shared.id; break;
                case Caller::admin: client = f.client_with_token(f.server.admin_token()); break;
                case Caller::no_token: break;
                case Caller::wrong_token: client = f.client_with_token("not-a-token-of-this-server"); break;
                case Caller::deleted: client = f.client_with_token(gone.token); self = gone.id; break;
            }
            std::map<std::string, std::string> vars{
                {"{tenant}", tenant_a}, {"{task}", task}, {"{self}", self}, {"{other}", other}};
            if (std::string(row.target).find("{victim}") != std::string::npos)
                vars["{victim}"] = f.register_agent(tenant_a, "victim").id;
            const std::string target = fill(row.target, vars);
            BOOST_TEST_CONTEXT(row.method << " " << row.target << " as " << caller_name(caller)) {
                auto r = client.request(row.method, target, fill(row.body, vars));
                BOOST_TEST(r.status == want);
                if (r.status == 401) BOOST_TEST(r.header("www-authenticate").find("Bearer") == 0u);
                // An agent's 404 for a task reads exactly as a missing task's.
                if (r.status == 404 && std::string(row.target).find("{task}") != std::string::npos)
                    BOOST_TEST(detail_of(r) == "Task " + task + " not found");
                // No error an agent or stranger gets names tenant A or the agents' ids.
                if (r.status >= 400 && caller != Caller::admin) {
                    BOOST_TEST(r.body.find(tenant_a_id_text) == std::string::npos);
                    if (caller != Caller::agent_a) BOOST_TEST(r.body.find(a.id) == std::string::npos);
                }
            }
        }
    }
    // /metrics is open: it must not name tenants, agents or tasks.
    const std::string metrics = f.client().get("/metrics").body;
    for (const std::string& id : {tenant_a, tenant_b, a.id, b.id, shared.id, task})
        BOOST_TEST(metrics.find(id) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_agent_never_claims_another_tenants_task) {
    ServerFixture f;
    const std::string tenant_a = new_uuid();
    const AgentCredentials a = f.register_agent(tenant_a, "a");
    const AgentCredentials b = f.register_agent(new_uuid(), "b");
    const std::string task = id_of(f.create_task(tenant_a));
    HttpClient peer = f.client_with_token(b.token);
    auto r = peer.get("/tasks/next?agent_id=" + b.id);
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.json().is_null());
    BOOST_TEST(peer.get("/tasks/" + task).status == 404u);
    HttpClient mine = f.client_with_token(a.token);
    BOOST_TEST(id_of(mine.get("/tasks/next?agent_id=" + a.id).json()) == task);
}

BOOST_AUTO_TEST_CASE(deleting_an_agent_ends_its_waiting_long_poll_with_401) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials doomed = f.register_agent(tenant, "doomed");
    const AgentCredentials doomed_shared = f.register_agent({}, "doomed-shared");
    const AgentCredentials bystander = f.register_agent(tenant, "bystander");
    const auto long_poll = [&](const AgentCredentials& who) {
        return std::async(std::launch::async, [&f, who] {
            HttpClient c = f.client_with_token(who.token);
            return c.get("/tasks/next?agent_id=" + who.id + "&wait=60");
        });
    };
    auto poll = long_poll(doomed);
    auto shared_poll = long_poll(doomed_shared);
    auto other_poll = long_poll(bystander);
    // The polls are waiting once the server counts three waiters.
    for (;;) {
        const std::string metrics = f.client().get("/metrics").body;
        if (metrics.find("\ntaskd_long_poll_waiters 3\n") != std::string::npos) break;
        BOOST_TEST_REQUIRE((poll.wait_for(std::chrono::milliseconds(5)) == std::future_status::timeout));
    }
    BOOST_TEST_REQUIRE(f.admin.del("/agents/" + doomed.id).status == 204u);
    BOOST_TEST_REQUIRE(f.admin.del("/agents/" + doomed_shared.id).status == 204u);
    // No task is created: only the delete can end these polls before their 60 s. Half of that is
    // a bound no server that wakes them could miss, and one that does not always misses.
    BOOST_TEST_REQUIRE((poll.wait_for(std::chrono::seconds(30)) == std::future_status::ready));
    BOOST_TEST_REQUIRE((shared_poll.wait_for(std::chrono::seconds(30)) == std::future_status::ready));
    for (auto* p : {&poll, &shared_poll}) {
        const HttpResponse r = p->get();
        BOOST_TEST(r.status == 401u);
        BOOST_TEST(r.header("www-authenticate").find("Bearer") == 0u);
    }
    // The other agent's poll still waits, and gets the next task of its tenant.
    BOOST_TEST((other_poll.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout));
    const std::string task = id_of(f.create_task(tenant));
    const HttpResponse got = other_poll.get();
    BOOST_TEST_REQUIRE(got.status == 200u);
    BOOST_TEST(id_of(got.json()) == task);
}

BOOST_AUTO_TEST_SUITE_END()
