// API.md "GET /tasks/next": which task a claim takes. Oldest pending first (created_at
// ascending); a tenant agent only its tenant's, a shared agent any tenant's; null when nothing is
// pending; a re-queued task keeps its place by created_at.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

std::string id_of(const json::value& v) { return std::string(v.at("id").as_string()); }

// An agent with its own connection.
struct Claimer {
    Claimer(ServerFixture& f, const std::string& tenant, const std::string& name)
        : credentials(f.register_agent(tenant, name)), client(f.client_with_token(credentials.token)) {}

    // The claimed task's id, or "null".
    std::string next() {
        auto r = client.get("/tasks/next?agent_id=" + credentials.id);
        BOOST_TEST_REQUIRE(r.status == 200u, r.status << " " << r.body);
        const json::value v = r.json();
        if (v.is_null()) return "null";
        BOOST_TEST(v.at("status").as_string() == "running");
        BOOST_TEST(v.at("agent_id").as_string() == credentials.id);
        return id_of(v);
    }

    AgentCredentials credentials;
    HttpClient client;
};

std::string status_of(ServerFixture& f, const std::string& id) {
    auto r = f.admin.get("/tasks/" + id);
    BOOST_TEST_REQUIRE(r.status == 200u);
    return std::string(r.json().at("status").as_string());
}

// Claims until null; returns the ids in the order they came.
std::vector<std::string> drain(Claimer& agent) {
    std::vector<std::string> out;
    for (std::string id = agent.next(); id != "null"; id = agent.next()) {
        out.push_back(id);
        BOOST_TEST_REQUIRE(out.size() <= 1000u, "claims never end");
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(claim)

BOOST_AUTO_TEST_CASE(tenant_agent_claims_its_oldest_pending_task_first) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const std::string other = new_uuid();
    std::vector<std::string> mine;
    std::vector<std::string> theirs;
    for (int i = 0; i < 5; ++i) {
        mine.push_back(id_of(f.create_task(tenant)));
        theirs.push_back(id_of(f.create_task(other)));
    }
    Claimer agent(f, tenant, "tenant");
    BOOST_TEST(drain(agent) == mine, boost::test_tools::per_element());
    for (const std::string& id : theirs) BOOST_TEST_CONTEXT(id) { BOOST_TEST(status_of(f, id) == "pending"); }
}

BOOST_AUTO_TEST_CASE(tenant_agent_never_gets_another_tenants_task) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const std::string other = new_uuid();
    std::vector<std::string> theirs;
    for (int i = 0; i < 3; ++i) theirs.push_back(id_of(f.create_task(other)));
    Claimer agent(f, tenant, "tenant");
    BOOST_TEST_CONTEXT("only another tenant has pending tasks") {
        for (int i = 0; i < 3; ++i) BOOST_TEST(agent.next() == "null");
        for (const std::string& id : theirs) BOOST_TEST(status_of(f, id) == "pending");
    }
    BOOST_TEST_CONTEXT("its own task, younger than the other tenant's") {
        const std::string mine = id_of(f.create_task(tenant));
        BOOST_TEST(agent.next() == mine);
        BOOST_TEST(agent.next() == "null");
    }
    BOOST_TEST_CONTEXT("the other tenant's agent still finds its tasks") {
        Claimer their_agent(f, other, "other");
        BOOST_TEST(drain(their_agent) == theirs, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(shared_agent_takes_the_oldest_across_tenants) {
    ServerFixture f;
    const std::string tenants[] = {new_uuid(), new_uuid(), new_uuid()};
    std::vector<std::string> created;
    for (int i = 0; i < 9; ++i) created.push_back(id_of(f.create_task(tenants[(i * 2) % 3])));
    Claimer shared(f, {}, "shared");
    BOOST_TEST(drain(shared) == created, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tenant_and_shared_agents_share_one_queue_order) {
    ServerFixture f;
    const std::string a = new_uuid();
    const std::string b = new_uuid();
    const std::string a1 = id_of(f.create_task(a));
    const std::string b1 = id_of(f.create_task(b));
    const std::string a2 = id_of(f.create_task(a));
    const std::string b2 = id_of(f.create_task(b));
    Claimer tenant_agent(f, a, "tenant");
    Claimer shared(f, {}, "shared");
    BOOST_TEST(tenant_agent.next() == a1);
    BOOST_TEST(shared.next() == b1);  // a1 is taken: b1 is the oldest pending now
    BOOST_TEST(shared.next() == a2);
    BOOST_TEST(tenant_agent.next() == "null");
    BOOST_TEST(shared.next() == b2);
    BOOST_TEST(shared.next() == "null");
}

BOOST_AUTO_TEST_CASE(null_when_nothing_is_pending) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    Claimer tenant_agent(f, tenant, "tenant");
    Claimer shared(f, {}, "shared");
    BOOST_TEST_CONTEXT("no task at all") {
        auto r = shared.client.get("/tasks/next?agent_id=" + shared.credentials.id);
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(r.body == "null");
        BOOST_TEST(tenant_agent.next() == "null");
    }
    BOOST_TEST_CONTEXT("every task running, completed or failed") {
        const std::string running = id_of(f.create_task(tenant));
        const std::string completed = id_of(f.create_task(tenant));
        const std::string cancelled = id_of(f.create_task(tenant));
        BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + cancelled, R"({"status":"failed"})").status == 200u);
        BOOST_TEST_REQUIRE(tenant_agent.next() == running);
        BOOST_TEST_REQUIRE(tenant_agent.next() == completed);
        BOOST_TEST_REQUIRE(tenant_agent.client.patch("/tasks/" + completed, R"({"status":"completed"})").status == 200u);
        BOOST_TEST(tenant_agent.next() == "null");
        BOOST_TEST(shared.next() == "null");
        BOOST_TEST(status_of(f, running) == "running");
        BOOST_TEST(status_of(f, completed) == "completed");
        BOOST_TEST(status_of(f, cancelled) == "failed");
    }
}

BOOST_AUTO_TEST_CASE(requeued_task_keeps_its_place_by_created_at) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    Claimer agent(f, tenant, "tenant");
    Claimer shared(f, {}, "shared");
    const std::string first = id_of(f.create_task(tenant));
    const std::string second = id_of(f.create_task(tenant));
    const std::string third = id_of(f.create_task(tenant));

    BOOST_TEST_REQUIRE(agent.next() == first);
    BOOST_TEST_REQUIRE(agent.client.patch("/tasks/" + first, R"({"status":"completed","result":{"n":1}})").status ==
                       200u);
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + first, R"({"status":"pending"})").status == 200u);
    BOOST_TEST_CONTEXT("completed -> pending is claimed before younger pending tasks") {
        auto r = agent.client.get("/tasks/next?agent_id=" + agent.credentials.id);
        BOOST_TEST_REQUIRE(r.status == 200u);
        const json::value t = r.json();
        BOOST_TEST_REQUIRE(t.is_object());
        BOOST_TEST(id_of(t) == first);
        BOOST_TEST(t.at("attempts").as_int64() == 1);
        BOOST_TEST(t.at("result").is_null());
    }
    BOOST_TEST_CONTEXT("failed -> pending, claimed by a shared agent") {
        BOOST_TEST_REQUIRE(agent.client.patch("/tasks/" + first, R"({"status":"failed"})").status == 200u);
        BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + first, R"({"status":"pending"})").status == 200u);
        BOOST_TEST(shared.next() == first);
    }
    BOOST_TEST_CONTEXT("a cancelled and re-queued task too") {
        const std::string fourth = id_of(f.create_task(tenant));
        BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + third, R"({"status":"failed"})").status == 200u);
        BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + third, R"({"status":"pending"})").status == 200u);
        BOOST_TEST(agent.next() == second);
        BOOST_TEST(agent.next() == third);
        BOOST_TEST(agent.next() == fourth);
        BOOST_TEST(agent.next() == "null");
    }
}

BOOST_AUTO_TEST_SUITE_END()
