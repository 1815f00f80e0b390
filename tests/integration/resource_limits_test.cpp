// Bounds on what the API can make taskd hold (README, flags --max-tasks and
// --max-pending-per-tenant): at each bound a create is refused with its status and a detail,
// and the server goes on serving reads, claims, completions and idempotent repeats.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

using namespace taskd::test;

namespace {

std::string task_body(const std::string& tenant) {
    return R"({"tenant_id":")" + tenant + R"(","type":"noop","payload":{}})";
}

bool has_detail(const HttpResponse& r) {
    const auto v = r.json();
    return v.is_object() && v.at("detail").is_string() && !v.at("detail").as_string().empty();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resource_limits)

// --max-tasks bounds a node's memory: it does not apply to PostgreSQL, which keeps tasks on disk.
BOOST_AUTO_TEST_CASE(max_tasks_refuses_creates_with_503_and_keeps_serving, *boost::unit_test::label("embedded")) {
    ServerFixture f({"--max-tasks", "5"});
    const std::string tenant = new_uuid();
    const auto agent = f.register_agent(tenant);
    BOOST_TEST(f.admin.request("POST", "/tasks", task_body(tenant), {{"Idempotency-Key", "first"}}).status == 201u);
    for (int i = 0; i < 4; ++i) f.create_task(tenant);

    const auto refused = f.admin.post("/tasks", task_body(new_uuid()));
    BOOST_TEST(refused.status == 503u, refused.body);
    BOOST_TEST(has_detail(refused));
    BOOST_TEST(refused.body.find("--max-tasks") != std::string::npos, refused.body);
    BOOST_TEST(refused.header("retry-after") == "1");

    // Reads, claims, completions and a repeat of an earlier create go on.
    BOOST_TEST(f.admin.get("/tasks").json().as_array().size() == 5u);
    BOOST_TEST(f.admin.request("POST", "/tasks", task_body(tenant), {{"Idempotency-Key", "first"}}).status == 200u);
    HttpClient a = f.client_with_token(agent.token);
    const auto claimed = a.get("/tasks/next?agent_id=" + agent.id);
    BOOST_TEST_REQUIRE(claimed.status == 200u);
    const std::string id(claimed.json().at("id").as_string());
    BOOST_TEST(a.patch("/tasks/" + id, R"({"status":"completed","result":{}})").status == 200u);
    // A finished task is still held until --retain drops it.
    BOOST_TEST(f.admin.post("/tasks", task_body(tenant)).status == 503u);
    BOOST_TEST(f.client().get("/readyz").status == 200u);
}

BOOST_AUTO_TEST_CASE(max_pending_per_tenant_refuses_with_429_for_that_tenant_only) {
    ServerFixture f({"--max-pending-per-tenant", "3"});
    const std::string busy = new_uuid(), other = new_uuid();
    const auto agent = f.register_agent(busy);
    for (int i = 0; i < 3; ++i) f.create_task(busy);

    const auto refused = f.admin.post("/tasks", task_body(busy));
    BOOST_TEST(refused.status == 429u, refused.body);
    BOOST_TEST(has_detail(refused));
    BOOST_TEST(refused.body.find("--max-pending-per-tenant") != std::string::npos, refused.body);
    BOOST_TEST(f.admin.post("/tasks", task_body(other)).status == 201u);  // another tenant is not held back

    // A claim makes room for one more.
    HttpClient a = f.client_with_token(agent.token);
    BOOST_TEST_REQUIRE(a.get("/tasks/next?agent_id=" + agent.id).status == 200u);
    BOOST_TEST(f.admin.post("/tasks", task_body(busy)).status == 201u);
    BOOST_TEST(f.admin.post("/tasks", task_body(busy)).status == 429u);
    BOOST_TEST(f.admin.get("/tasks?tenant_id=" + busy + "&status=pending").json().as_array().size() == 3u);
}

BOOST_AUTO_TEST_CASE(zero_means_no_limit) {
    ServerFixture f({"--max-tasks", "0", "--max-pending-per-tenant", "0"});
    const std::string tenant = new_uuid();
    for (int i = 0; i < 20; ++i) f.create_task(tenant);
    BOOST_TEST(f.admin.get("/tasks?limit=100").json().as_array().size() == 20u);
}

BOOST_AUTO_TEST_SUITE_END()
