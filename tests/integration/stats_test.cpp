// GET /stats (API.md "Operations", README "Console"): the numbers equal what the API itself
// says after known requests; admin only (401 without a token, 403 with an agent's).
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>

using namespace taskd::test;
namespace json = boost::json;

namespace {

std::int64_t num(const json::value& v, std::string_view a, std::string_view b) { return v.at(a).at(b).to_number<std::int64_t>(); }

// How many tasks GET /tasks lists for this query.
std::int64_t listed(HttpClient& admin, const std::string& query) {
    const auto r = admin.get("/tasks?" + query);
    BOOST_TEST_REQUIRE(r.status == 200u, r.body);
    return static_cast<std::int64_t>(r.json().as_array().size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stats)

BOOST_AUTO_TEST_CASE(numbers_equal_what_the_api_says) {
    ServerFixture f;
    const std::string a = new_uuid(), b = new_uuid();
    const auto agent_a = f.register_agent(a, "edge-a");
    const auto shared = f.register_agent({}, "shared");
    f.register_agent(b, "never-seen");
    std::vector<std::string> ids_a, ids_b;
    // b's first: the shared agent claims the oldest task of any tenant.
    for (int i = 0; i < 3; ++i) ids_b.push_back(std::string(f.create_task(b).at("id").as_string()));
    for (int i = 0; i < 5; ++i) ids_a.push_back(std::string(f.create_task(a).at("id").as_string()));

    HttpClient ca = f.client_with_token(agent_a.token);
    HttpClient cs = f.client_with_token(shared.token);
    std::vector<std::string> claimed;
    for (int i = 0; i < 3; ++i) {
        const auto r = ca.get("/tasks/next?agent_id=" + agent_a.id);
        BOOST_TEST_REQUIRE(r.status == 200u);
        claimed.push_back(std::string(r.json().at("id").as_string()));
    }
    BOOST_TEST_REQUIRE(cs.get("/tasks/next?agent_id=" + shared.id).status == 200u);  // b[0]
    BOOST_TEST(ca.patch("/tasks/" + claimed[0], R"({"status":"completed","result":{"ok":true}})").status == 200u);
    BOOST_TEST(ca.patch("/tasks/" + claimed[1], R"({"status":"failed"})").status == 200u);
    BOOST_TEST(f.admin.patch("/tasks/" + ids_b[0], R"({"status":"completed"})").status == 200u);
    BOOST_TEST(f.admin.patch("/tasks/" + ids_b[2], R"({"status":"failed"})").status == 200u);  // cancel
    BOOST_TEST(f.admin.patch("/tasks/" + claimed[1], R"({"status":"pending"})").status == 200u);  // re-queue

    const auto r = f.admin.get("/stats");
    BOOST_TEST_REQUIRE(r.status == 200u, r.body);
    BOOST_TEST(r.header("content-type") == "application/json");
    const json::value s = r.json();
    for (const char* status : {"pending", "running", "completed", "failed"})
        BOOST_TEST(num(s, "tasks", status) == listed(f.admin, std::string("status=") + status), status);
    BOOST_TEST(num(s, "tasks", "pending") == 4);  // a: 3 (one re-queued); b: 1
    std::map<std::string, json::object> tenants;
    for (const auto& t : s.at("tenants").as_array())
        tenants[std::string(t.at("tenant_id").as_string())] = t.as_object();
    BOOST_TEST_REQUIRE(tenants.size() == 2u);
    for (const std::string& tenant : {a, b})
        for (const char* status : {"pending", "running", "failed"})
            BOOST_TEST(tenants.at(tenant).at(status).to_number<std::int64_t>() ==
                           listed(f.admin, "tenant_id=" + tenant + "&status=" + status),
                       tenant << " " << status);
    BOOST_TEST(num(s, "totals", "creates") == 8);
    BOOST_TEST(num(s, "totals", "claims") == 4);
    BOOST_TEST(num(s, "totals", "completions") == 2);
    BOOST_TEST(num(s, "agents", "registered") == 3);
    BOOST_TEST(num(s, "agents", "seen_last_minute") == 2);  // edge-a and shared made requests
    BOOST_TEST(s.at("time").as_string().size() == 27u);     // RFC 3339, six fraction digits
}

BOOST_AUTO_TEST_CASE(admin_only) {
    ServerFixture f;
    const auto agent = f.register_agent(new_uuid());
    BOOST_TEST(f.client().get("/stats").status == 401u);
    BOOST_TEST(f.client().get("/stats").header("www-authenticate") == "Bearer");
    BOOST_TEST(f.client_with_token("not-the-admin-token-at-all").get("/stats").status == 401u);
    BOOST_TEST(f.client_with_token(agent.token).get("/stats").status == 403u);
    BOOST_TEST(f.client().request("POST", "/stats").status == 405u);
}

BOOST_AUTO_TEST_SUITE_END()
