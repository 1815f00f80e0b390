// bench/checks, bench/report, bench/options and the protocol helpers: what the load generator
// takes for a right answer, and the text it reads and writes, without a network.
#include "bench/beanstalk_client.hpp"
#include "bench/checks.hpp"
#include "client/http_connection.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>

using namespace taskd::bench;
using taskd::client::format_request;

namespace {

const std::string kId = "8b95b835-f0e5-4405-8432-26ac0cfedb32";
const std::string kAgent = "2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44";

std::string task(const std::string& status, const std::string& agent = {}) {
    return R"({"id":")" + kId + R"(","status":")" + status + R"(","agent_id":)" +
           (agent.empty() ? std::string("null") : "\"" + agent + "\"") + "}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bench_checks)

BOOST_AUTO_TEST_CASE(a_task_must_have_the_expected_id_status_and_agent) {
    JsonReader r;
    BOOST_TEST(!check_task_body(r, task("pending"), {.status = "pending", .id = kId, .agent_id = {}}));
    BOOST_TEST(check_task_body(r, task("running"), {.status = "pending", .id = {}, .agent_id = {}}).has_value());
    BOOST_TEST(check_task_body(r, task("pending"), {.status = {}, .id = "other", .agent_id = {}}).has_value());
    BOOST_TEST(check_task_body(r, R"({"status":"pending"})", {}).has_value());  // no id
    BOOST_TEST(check_task_body(r, "[]", {}).has_value());
    BOOST_TEST(check_task_body(r, "{", {}).has_value());  // not JSON
    std::string id;
    BOOST_TEST(!check_task_body(r, task("pending"), {}, &id));
    BOOST_TEST(id == kId);
}

BOOST_AUTO_TEST_CASE(a_claim_answering_null_or_another_agents_task_is_wrong) {
    JsonReader r;
    std::string claimed;
    BOOST_TEST(check_claim_body(r, "null", kAgent).value() == "null: no task claimed");
    BOOST_TEST(check_claim_body(r, task("running", "someone-else"), kAgent).has_value());
    BOOST_TEST(check_claim_body(r, task("pending", kAgent), kAgent).has_value());
    BOOST_TEST(!check_claim_body(r, task("running", kAgent), kAgent, &claimed));
    BOOST_TEST(claimed == kId);
}

BOOST_AUTO_TEST_CASE(a_listing_must_hold_exactly_the_tasks_asked_for) {
    JsonReader r;
    const std::string two = "[" + task("pending") + "," + task("pending") + "]";
    BOOST_TEST(!check_list_body(r, two, 2));
    BOOST_TEST(check_list_body(r, two, 3).has_value());
    BOOST_TEST(check_list_body(r, "[1,2]", 2).has_value());
    BOOST_TEST(check_list_body(r, "{}", 0).has_value());
}

BOOST_AUTO_TEST_CASE(the_reader_parses_many_large_bodies_in_turn) {
    // A page of 1000 tasks outgrows the reader's buffer each time; it must not run out of memory.
    std::string page = "[";
    for (int i = 0; i < 1000; ++i) page += (i ? "," : "") + task("pending");
    page += "]";
    JsonReader r;
    for (int i = 0; i < 200; ++i) BOOST_TEST_REQUIRE(!check_list_body(r, page, 1000));
}

BOOST_AUTO_TEST_CASE(random_uuids_are_version_4_and_distinct) {
    const auto a = random_uuid(), b = random_uuid();
    BOOST_TEST(a.size() == 36u);
    BOOST_TEST(a[14] == '4');
    BOOST_TEST(a != b);
}

BOOST_AUTO_TEST_CASE(requests_are_framed_with_a_length_when_they_carry_a_body) {
    std::string out;
    format_request(out, "GET", "/tasks/x", "127.0.0.1:8000", "tok", {});
    BOOST_TEST(out == "GET /tasks/x HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAuthorization: Bearer tok\r\n\r\n");
    format_request(out, "POST", "/tasks/", "h:1", {}, "{}");
    BOOST_TEST(out ==
               "POST /tasks/ HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
}

BOOST_AUTO_TEST_CASE(beanstalk_replies_are_parsed_strictly) {
    std::uint64_t bytes = 0;
    BOOST_TEST(parse_job_id("INSERTED 12", "INSERTED").value() == 12u);
    BOOST_TEST(parse_job_id("RESERVED 7 83", "RESERVED", &bytes).value() == 7u);
    BOOST_TEST(bytes == 83u);
    BOOST_TEST(!parse_job_id("INSERTED", "INSERTED"));
    BOOST_TEST(!parse_job_id("INSERTED 12x", "INSERTED"));
    BOOST_TEST(!parse_job_id("BURIED 12", "INSERTED"));
    BOOST_TEST(!parse_job_id("RESERVED 7", "RESERVED", &bytes));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bench_report)

BOOST_AUTO_TEST_CASE(json_line_round_trips_into_the_table_with_ratios) {
    RunStats fast, slow;
    for (int i = 0; i < 1000; ++i) fast.latency_ns.record(1'000'000);
    fast.ok = 1000;
    fast.requests = 3000;
    fast.elapsed = std::chrono::seconds{1};
    slow.ok = 5;
    slow.requests = 15;
    slow.failed = 2;
    slow.errors["claim: HTTP 409"] = 2;
    slow.elapsed = std::chrono::seconds{1};
    RunInfo a{"taskd", "lifecycle", "http", 64, 1, 0}, b{"original", "lifecycle", "http", 64, 1, 0};

    const auto line = to_json_line(a, fast);
    const auto v = boost::json::parse(line).as_object();
    BOOST_TEST(v.at("ops").to_number<std::uint64_t>() == 1000u);
    BOOST_TEST(v.at("ops_per_s").as_double() == 1000.0);
    BOOST_TEST(v.at("requests_per_s").as_double() == 3000.0);
    BOOST_TEST(v.at("latency_us").at("p50").as_double() == 1000.0, boost::test_tools::tolerance(0.5));

    std::istringstream in(line + "\nnot json\n" + to_json_line(b, slow) + "\n");
    std::ostringstream out;
    const auto met = parse_ratio("lifecycle taskd/original=lifecycle@taskd/lifecycle@original>=150");
    const auto missed = parse_ratio("too much=lifecycle@taskd/lifecycle@original>=400");
    BOOST_TEST(write_table(in, {met, missed}, out));
    const std::string table = out.str();
    BOOST_TEST_INFO(table);
    BOOST_TEST(table.find("lifecycle taskd/original: 200× (1,000 / 5 ops/s); target ≥ 150×: met") != std::string::npos);
    BOOST_TEST(table.find("too much: 200×") != std::string::npos);
    BOOST_TEST(table.find("missed by 50 %") != std::string::npos);
    BOOST_TEST(table.find("original") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_ratio_of_runs_not_made_is_reported_and_fails) {
    std::istringstream in("");
    std::ostringstream out;
    BOOST_TEST(!write_table(in, {parse_ratio("x=get@taskd/static@nginx")}, out));
    BOOST_TEST(out.str().find("x: not measured") != std::string::npos);
    BOOST_CHECK_THROW(parse_ratio("no-equals"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_ratio("x=get/static@nginx"), std::invalid_argument);
    BOOST_CHECK_THROW(parse_ratio("x=get@a/static@b>=many"), std::invalid_argument);
}

// Alternating rounds on a noisy host: each round's ratio is judged by the median round's,
// not by the best, and rounds that do not pair up are not judged at all.
BOOST_AUTO_TEST_CASE(a_ratio_over_rounds_is_the_median_rounds) {
    auto run = [](const char* system, double ops) {
        RunStats s;
        s.ok = static_cast<std::uint64_t>(ops);
        s.elapsed = std::chrono::seconds{1};
        return to_json_line({system, "get", "http", 64, 1, 0}, s) + "\n";
    };
    // Rounds: 0.70, 0.90, 0.80 (in that order); the best would pass 0.85, the median does not.
    const std::string rounds = run("taskd", 70) + run("nginx", 100) + run("taskd", 90) + run("nginx", 100) +
                               run("taskd", 80) + run("nginx", 100);
    std::istringstream in(rounds);
    std::ostringstream out;
    BOOST_TEST(write_table(in, {parse_ratio("get/ceiling=get@taskd/get@nginx>=0.85")}, out));
    BOOST_TEST_INFO(out.str());
    BOOST_TEST(out.str().find("get/ceiling: 0.80× (80 / 100 ops/s, the median of 3 rounds: 0.70 0.90 0.80); "
                              "target ≥ 0.85×: missed by 5.88 %") != std::string::npos);

    std::istringstream unpaired(rounds + run("nginx", 100));
    std::ostringstream out2;
    BOOST_TEST(!write_table(unpaired, {parse_ratio("x=get@taskd/get@nginx")}, out2));
    BOOST_TEST(out2.str().find("x: not measured (3 runs of get@taskd against 4 of get@nginx") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(thousands) {
    BOOST_TEST(with_thousands(0) == "0");
    BOOST_TEST(with_thousands(999) == "999");
    BOOST_TEST(with_thousands(1000) == "1,000");
    BOOST_TEST(with_thousands(1234567.4) == "1,234,567");
}

BOOST_AUTO_TEST_SUITE_END()
