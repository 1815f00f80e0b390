// Idempotency-Key on POST /tasks over HTTP (API.md): a repeat of a key for the same tenant with
// the same body answers the first task with 200; another body (another priority too) is a 422;
// keys survive restarts.
#include "fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

using namespace taskd::test;

namespace {

const std::string kPayload = R"({"path":"/etc/app.conf","content":"x"})";

std::string body(const std::string& tenant, const std::string& payload = kPayload) {
    return R"({"tenant_id":")" + tenant + R"(","type":"FILE_WRITE","payload":)" + payload + "}";
}

// `body` with a "priority" field added.
std::string with_priority(std::string body, int priority) {
    body.insert(body.size() - 1, R"(,"priority":)" + std::to_string(priority));
    return body;
}

HttpResponse create(HttpClient& c, const std::string& body, const std::string& key,
                    const std::string& header = "Idempotency-Key") {
    return c.request("POST", "/tasks", body, {{header, key}});
}

std::string id_of(const HttpResponse& r) { return std::string(r.json().at("id").as_string()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(idempotency)

BOOST_AUTO_TEST_CASE(a_repeat_answers_the_first_task_and_another_body_is_refused) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const auto first = create(f.admin, body(tenant), "deploy-42");
    BOOST_TEST_REQUIRE(first.status == 201u);

    // The same JSON value: other key order and spacing, and a header name in other case.
    const std::string reordered = R"({ "payload": {"content": "x", "path": "/etc/app.conf"}, "type": "FILE_WRITE",
                                       "tenant_id": ")" + tenant + R"(" })";
    const auto repeat = create(f.admin, reordered, "deploy-42", "idempotency-key");
    BOOST_TEST(repeat.status == 200u);
    BOOST_TEST(id_of(repeat) == id_of(first));

    const auto other = create(f.admin, body(tenant, R"({"path":"/etc/app.conf","content":"y"})"), "deploy-42");
    BOOST_TEST(other.status == 422u);
    const boost::json::value answer = other.json();
    const auto& detail = answer.at("detail").as_array();
    BOOST_TEST_REQUIRE(detail.size() == 1u);
    BOOST_TEST(detail[0].at("loc") == boost::json::parse(R"(["header","Idempotency-Key"])"));

    // Keys are per tenant; another key is another task.
    const auto elsewhere = create(f.admin, body(new_uuid()), "deploy-42");
    BOOST_TEST(elsewhere.status == 201u);
    const auto fresh = create(f.admin, body(tenant), "deploy-43");
    BOOST_TEST(fresh.status == 201u);
    BOOST_TEST(id_of(fresh) != id_of(first));
    BOOST_TEST(f.admin.get("/tasks?tenant_id=" + tenant).json().as_array().size() == 2u);
}

// A priority is part of the body (issue 23); an omitted one is the default, 5. not_before and
// delay_seconds are not (README, "Scheduling").
BOOST_AUTO_TEST_CASE(a_priority_is_part_of_the_body) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const auto urgent = create(f.admin, with_priority(body(tenant), 7), "fix-1");
    BOOST_TEST_REQUIRE(urgent.status == 201u, urgent.body);
    const auto repeat = create(f.admin, with_priority(body(tenant), 7), "fix-1");
    BOOST_TEST(repeat.status == 200u, repeat.body);
    BOOST_TEST(id_of(repeat) == id_of(urgent));
    BOOST_TEST(create(f.admin, with_priority(body(tenant), 3), "fix-1").status == 422u);
    BOOST_TEST(create(f.admin, body(tenant), "fix-1").status == 422u);

    const auto routine = create(f.admin, body(tenant), "routine-1");
    BOOST_TEST_REQUIRE(routine.status == 201u, routine.body);
    const auto explicit_default = create(f.admin, with_priority(body(tenant), 5), "routine-1");
    BOOST_TEST(explicit_default.status == 200u, explicit_default.body);
    BOOST_TEST(id_of(explicit_default) == id_of(routine));
}

BOOST_AUTO_TEST_CASE(keys_survive_a_restart) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const auto first = create(f.admin, body(tenant), "nightly");
    BOOST_TEST_REQUIRE(first.status == 201u);
    const auto urgent = create(f.admin, with_priority(body(tenant), 9), "urgent");
    BOOST_TEST_REQUIRE(urgent.status == 201u);

    BOOST_TEST_REQUIRE(f.server.stop() == 0);
    f.server.start(f.dir.path() / "data");
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());

    const auto repeat = create(admin, body(tenant), "nightly");
    BOOST_TEST(repeat.status == 200u);
    BOOST_TEST(id_of(repeat) == id_of(first));
    BOOST_TEST(create(admin, body(tenant, R"({"path":"/etc/other","content":"x"})"), "nightly").status == 422u);
    // The priority counts after a restart too (the embedded store recomputes digests on recovery).
    const auto urgent_again = create(admin, with_priority(body(tenant), 9), "urgent");
    BOOST_TEST(urgent_again.status == 200u, urgent_again.body);
    BOOST_TEST(id_of(urgent_again) == id_of(urgent));
    BOOST_TEST(create(admin, body(tenant), "urgent").status == 422u);
}

BOOST_AUTO_TEST_SUITE_END()
