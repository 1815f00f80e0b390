// The README's walkthrough, as a client would run it: register an agent, create a task,
// claim it, complete it.
#include "fixture.hpp"

#include <boost/test/unit_test.hpp>

using namespace taskd::test;

BOOST_AUTO_TEST_SUITE(walkthrough)

BOOST_AUTO_TEST_CASE(register_create_claim_complete) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials agent = f.register_agent(tenant, "edge-01");

    auto created = f.create_task(tenant, "FILE_WRITE", R"({"path":"/opt/app/config.json","content":"{}"})");
    const std::string id(created.at("id").as_string());
    BOOST_TEST(created.at("status").as_string() == "pending");
    BOOST_TEST(created.at("attempts").as_int64() == 0);
    BOOST_TEST(created.at("agent_id").is_null());

    HttpClient edge = f.client_with_token(agent.token);
    auto claimed = edge.get("/tasks/next?agent_id=" + agent.id);
    BOOST_TEST_REQUIRE(claimed.status == 200u);
    auto task = claimed.json();
    BOOST_TEST(task.at("id").as_string() == id);
    BOOST_TEST(task.at("status").as_string() == "running");
    BOOST_TEST(task.at("agent_id").as_string() == agent.id);
    BOOST_TEST(task.at("attempts").as_int64() == 1);
    BOOST_TEST(task.at("lease_expires_at").is_string());

    auto done = edge.patch("/tasks/" + id, R"({"status":"completed","result":{"bytes":2}})");
    BOOST_TEST_REQUIRE(done.status == 200u);
    BOOST_TEST(done.json().at("status").as_string() == "completed");
    BOOST_TEST(done.json().at("result").at("bytes").as_int64() == 2);
    BOOST_TEST(done.json().at("lease_expires_at").is_null());

    auto again = edge.get("/tasks/next?agent_id=" + agent.id);
    BOOST_TEST(again.status == 200u);
    BOOST_TEST(again.body == "null");

    BOOST_TEST(f.server.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
