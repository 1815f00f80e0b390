// Logs for operators (README, "Logs"): one access-log line per request, with the route's
// pattern, status, duration, bytes, who and the request id; X-Request-Id echoed when valid and
// made up otherwise; --log-format json; --access-log=false. Tokens, payloads and results never
// appear in the log. Each test stops the server before reading its log: then every line,
// buffered access lines included, has been written and read.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

std::vector<std::string> lines_of(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::size_t count_lines_with(const std::string& log, const std::vector<std::string>& parts) {
    std::size_t n = 0;
    for (const auto& line : lines_of(log)) {
        bool all = true;
        for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
        n += all;
    }
    return n;
}

bool is_hex_id(const std::string& s) {
    return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(one_access_line_per_request_with_route_status_who_and_id) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const auto agent = f.register_agent(tenant);
    const auto task = f.create_task(tenant, "noop", R"({"secret_payload_marker":"p-7d1e"})");
    const std::string task_id(task.at("id").as_string());

    HttpClient a = f.client_with_token(agent.token);
    const auto claimed = a.request("GET", "/tasks/next?agent_id=" + agent.id, {}, {{"X-Request-Id", "claim-0001"}});
    BOOST_TEST_REQUIRE(claimed.status == 200u);
    BOOST_TEST(claimed.header("x-request-id") == "claim-0001");
    const auto done = a.request("PATCH", "/tasks/" + task_id,
                                R"({"status":"completed","result":{"secret_result_marker":"r-93c4"}})",
                                {{"X-Request-Id", "done-0002"}});
    BOOST_TEST_REQUIRE(done.status == 200u);
    const auto missing = f.client().request("GET", "/no/such/path", {}, {{"X-Request-Id", "nf-0003"}});
    BOOST_TEST(missing.status == 404u);
    const auto unauthorized = f.client().request("GET", "/tasks/" + task_id, {}, {{"X-Request-Id", "ua-0004"}});
    BOOST_TEST(unauthorized.status == 401u);

    BOOST_TEST_REQUIRE(f.server.stop() == 0);
    const std::string log = f.server.log();
    const std::string who_agent = "who=agent:" + agent.id;
    BOOST_TEST(count_lines_with(log, {" access GET /tasks/next 200 ", who_agent, "id=claim-0001"}) == 1u, log);
    BOOST_TEST(count_lines_with(log, {" access PATCH /tasks/{task_id} 200 ", who_agent, "id=done-0002"}) == 1u);
    BOOST_TEST(count_lines_with(log, {" access GET - 404 ", "who=-", "id=nf-0003"}) == 1u);
    BOOST_TEST(count_lines_with(log, {" access GET /tasks/{task_id} 401 ", "who=-", "id=ua-0004"}) == 1u);
    BOOST_TEST(count_lines_with(log, {" access POST /agents 201 ", "who=admin"}) == 1u);
    BOOST_TEST(count_lines_with(log, {" access POST /tasks 201 ", "who=admin"}) == 1u);
    // Every line has a duration and a byte count.
    BOOST_TEST(count_lines_with(log, {" access ", "ms ", "B who="}) == count_lines_with(log, {" access "}));
    BOOST_TEST(count_lines_with(log, {" access "}) == 6u);
}

BOOST_AUTO_TEST_CASE(tokens_payloads_and_results_never_reach_the_log) {
    ServerFixture f({"--log-level", "debug"});
    const std::string tenant = new_uuid();
    const auto agent = f.register_agent(tenant);
    f.create_task(tenant, "noop", R"({"secret_payload_marker":"p-7d1e"})");
    HttpClient a = f.client_with_token(agent.token);
    const auto claimed = a.get("/tasks/next?agent_id=" + agent.id).json();
    a.patch("/tasks/" + std::string(claimed.at("id").as_string()),
            R"({"status":"completed","result":{"secret_result_marker":"r-93c4"}})");
    HttpClient wrong = f.client_with_token("not-a-real-token-but-secret-7f3a");
    BOOST_TEST(wrong.get("/tasks").status == 401u);
    const std::string admin_token = f.server.admin_token();
    BOOST_TEST_REQUIRE(f.server.stop() == 0);
    const std::string log = f.server.log();
    BOOST_TEST(log.find(" access ") != std::string::npos);
    for (const std::string& secret :
         {admin_token, agent.token, std::string("p-7d1e"), std::string("secret_payload_marker"), std::string("r-93c4"),
          std::string("secret_result_marker"), std::string("not-a-real-token-but-secret-7f3a")})
        BOOST_TEST(log.find(secret) == std::string::npos, "the log shows " << secret);
}

BOOST_AUTO_TEST_CASE(a_request_id_is_echoed_when_valid_and_made_up_otherwise) {
    ServerFixture f;
    HttpClient c = f.client();
    BOOST_TEST(c.request("GET", "/healthz", {}, {{"X-Request-Id", "a.b_c~d:e+f/g=h-1"}}).header("x-request-id") ==
               "a.b_c~d:e+f/g=h-1");
    const std::vector<std::string> invalid = {"has space", "quote\"d", std::string(129, 'x'), "semi;colon", "{json}"};
    for (const auto& bad : invalid) {
        const auto r = c.request("GET", "/healthz", {}, {{"X-Request-Id", bad}});
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(is_hex_id(r.header("x-request-id")), bad << " -> " << r.header("x-request-id"));
    }
    const auto first = c.get("/healthz").header("x-request-id");
    const auto second = c.get("/healthz").header("x-request-id");
    BOOST_TEST(is_hex_id(first));
    BOOST_TEST(first != second);
    // Errors the connection answers by itself carry one too.
    const auto malformed = c.send_raw("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    BOOST_TEST_REQUIRE(malformed.has_value());
    BOOST_TEST(malformed->status == 400u);
    BOOST_TEST(is_hex_id(malformed->header("x-request-id")));
}

BOOST_AUTO_TEST_CASE(json_format_makes_every_line_a_json_object) {
    ServerFixture f({"--log-format", "json"});
    HttpClient c = f.client();
    BOOST_TEST(c.request("GET", "/healthz", {}, {{"X-Request-Id", "json-0001"}}).status == 200u);
    f.create_task(new_uuid());
    BOOST_TEST_REQUIRE(f.server.stop() == 0);
    std::size_t access = 0, lines = 0;
    for (const auto& line : lines_of(f.server.log())) {
        boost::system::error_code ec;
        const auto v = json::parse(line, ec);
        BOOST_TEST_REQUIRE(!ec, "not JSON: " << line);
        BOOST_TEST_REQUIRE(v.is_object(), line);
        ++lines;
        BOOST_TEST(v.at("time").is_string());
        BOOST_TEST(v.at("level").is_string());
        BOOST_TEST(v.at("msg").is_string());
        if (v.at("msg") != "access") continue;
        ++access;
        if (v.at("request_id") == "json-0001") {
            BOOST_TEST(v.at("method") == "GET");
            BOOST_TEST(v.at("route") == "/healthz");
            BOOST_TEST(v.at("status") == 200);
            BOOST_TEST(v.at("duration_ms").is_number());
            BOOST_TEST(v.at("bytes") == 15);  // {"status":"ok"}
            BOOST_TEST(v.at("who") == "-");
        }
    }
    BOOST_TEST(access == 2u);
    BOOST_TEST(lines > access);  // the start-up lines too
}

BOOST_AUTO_TEST_CASE(access_log_false_writes_no_access_lines) {
    ServerFixture f({"--access-log=false"});
    BOOST_TEST(f.client().get("/healthz").status == 200u);
    f.create_task(new_uuid());
    BOOST_TEST_REQUIRE(f.server.stop() == 0);
    BOOST_TEST(f.server.log().find("access") == std::string::npos);
    BOOST_TEST(f.server.log().find("listening on") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
