// GET /metrics (README, "Metrics"): the Prometheus text format 0.0.4, accepted by promtool
// where it is installed; counters move by exactly what the requests made between two scrapes
// did; --metrics-auth puts it behind the admin token.
#include "fixture.hpp"
#include "test_store.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

using namespace taskd::test;

namespace {

// Every sample of a scrape: "name{labels}" -> value.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    }
    return out;
}

std::map<std::string, double> scrape(HttpClient& c) {
    const auto r = c.get("/metrics");
    BOOST_TEST_REQUIRE(r.status == 200u, r.body);
    return samples(r.body);
}

double at(const std::map<std::string, double>& m, const std::string& key) {
    const auto it = m.find(key);
    return it == m.end() ? 0.0 : it->second;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(the_text_format_and_promtool_accepts_it) {
    ServerFixture f;
    f.create_task(new_uuid());
    const auto r = f.client().get("/metrics");
    BOOST_TEST_REQUIRE(r.status == 200u);
    BOOST_TEST(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    for (const char* family : {"taskd_build_info", "taskd_http_requests_total", "taskd_http_request_duration_seconds",
                               "taskd_http_connections_open", "taskd_tasks", "taskd_claims_total",
                               "taskd_lease_expiries_total", "taskd_idempotent_repeats_total", "taskd_long_poll_waiters"})
        BOOST_TEST(r.body.find(std::string("# TYPE ") + family + " ") != std::string::npos, family);
    // The store's own families: the journal's, or the database's.
    const std::vector<const char*> journal{"taskd_journal_records_total", "taskd_journal_bytes_total",
                                           "taskd_journal_fsyncs_total", "taskd_journal_fsync_duration_seconds",
                                           "taskd_journal_healthy", "taskd_snapshot_age_seconds",
                                           "taskd_snapshot_duration_seconds", "taskd_recovery_duration_seconds"};
    const std::vector<const char*> database{"taskd_database_healthy", "taskd_database_connections",
                                            "taskd_database_waiting", "taskd_database_listening"};
    for (const char* family : testing_postgres() ? database : journal)
        BOOST_TEST(r.body.find(std::string("# TYPE ") + family + " ") != std::string::npos, family);
    for (const char* family : testing_postgres() ? journal : database)
        BOOST_TEST(r.body.find(std::string("# TYPE ") + family + " ") == std::string::npos, family);

    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        BOOST_TEST_MESSAGE("SKIPPED: promtool check metrics (promtool not installed; scripts/setup installs it)");
        return;
    }
    const std::string file = (f.dir.path() / "metrics.txt").string();
    std::ofstream(file) << r.body;
    const std::string command = "promtool check metrics < " + file + " 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    BOOST_TEST_REQUIRE(p != nullptr);
    std::string output;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) output += buf;
    const int status = ::pclose(p);
    BOOST_TEST(status == 0, "promtool: " << output);
    BOOST_TEST(output.empty(), "promtool: " << output);  // no lint complaints either
}

BOOST_AUTO_TEST_CASE(counters_move_by_exactly_what_was_done) {
    ServerFixture f;
    HttpClient c = f.client();
    const std::string tenant = new_uuid();
    const auto agent = f.register_agent(tenant);
    const auto before = scrape(c);

    for (int i = 0; i < 3; ++i) BOOST_TEST(c.get("/healthz").status == 200u);
    BOOST_TEST(c.get("/no/such/path").status == 404u);
    for (int i = 0; i < 4; ++i) f.create_task(tenant);
    const std::string body = R"({"tenant_id":")" + tenant + R"(","type":"noop","payload":{}})";
    BOOST_TEST(f.admin.request("POST", "/tasks", body, {{"Idempotency-Key", "k-1"}}).status == 201u);
    BOOST_TEST(f.admin.request("POST", "/tasks", body, {{"Idempotency-Key", "k-1"}}).status == 200u);
    HttpClient a = f.client_with_token(agent.token);
    for (int i = 0; i < 2; ++i) BOOST_TEST(a.get("/tasks/next?agent_id=" + agent.id).status == 200u);
    BOOST_TEST(c.get("/tasks").status == 401u);
    // A connection counts an answer after sending it, before it reads its next request: only
    // a later request on the same connection is sure to come after the count. So the 401 goes
    // on the scraping connection, and the other connections send one more request each, of a
    // route no check below reads.
    BOOST_TEST(f.admin.get("/readyz").status == 200u);
    BOOST_TEST(a.get("/readyz").status == 200u);

    const auto after = scrape(c);
    auto moved = [&](const std::string& key) { return at(after, key) - at(before, key); };
    BOOST_TEST(moved(R"(taskd_http_requests_total{method="GET",route="/healthz",status="200"})") == 3);
    BOOST_TEST(moved(R"(taskd_http_requests_total{method="-",route="-",status="404"})") == 1);
    BOOST_TEST(moved(R"(taskd_http_requests_total{method="POST",route="/tasks",status="201"})") == 5);
    BOOST_TEST(moved(R"(taskd_http_requests_total{method="POST",route="/tasks",status="200"})") == 1);
    BOOST_TEST(moved(R"(taskd_http_requests_total{method="GET",route="/tasks/next",status="200"})") == 2);
    BOOST_TEST(moved(R"(taskd_http_requests_total{method="GET",route="/tasks",status="401"})") == 1);
    // The first scrape is counted by the second.
    BOOST_TEST(moved(R"(taskd_http_requests_total{method="GET",route="/metrics",status="200"})") == 1);
    BOOST_TEST(moved(R"(taskd_http_request_duration_seconds_count{method="GET",route="/healthz"})") == 3);
    BOOST_TEST(moved("taskd_claims_total") == 2);
    BOOST_TEST(moved("taskd_idempotent_repeats_total") == 1);
    BOOST_TEST(at(after, R"(taskd_tasks{status="pending"})") == 3);
    BOOST_TEST(at(after, R"(taskd_tasks{status="running"})") == 2);
    if (testing_postgres()) {
        BOOST_TEST(at(after, "taskd_database_healthy") == 1);
    } else {
        // Five creates and two claims are seven task records; the agent's last_seen_at may add one.
        const double records = moved("taskd_journal_records_total");
        BOOST_TEST((records == 7 || records == 8), records);
        BOOST_TEST(moved("taskd_journal_fsyncs_total") >= 1);
        BOOST_TEST(at(after, "taskd_journal_healthy") == 1);
    }
    BOOST_TEST(at(after, "taskd_long_poll_waiters") == 0);
    BOOST_TEST(at(after, R"(taskd_build_info{version="0.1.0"})") == 1);
}

BOOST_AUTO_TEST_CASE(a_lease_that_runs_out_is_counted) {
    ServerFixture f({"--maintenance-interval", "50ms"});
    HttpClient c = f.client();
    const std::string tenant = new_uuid();
    const auto agent = f.register_agent(tenant);
    f.create_task(tenant, "noop", "{}");
    // A one-second lease, claimed, then left to run out: the task goes back to pending.
    const std::string body = R"({"tenant_id":")" + tenant + R"(","type":"noop","payload":{},"lease_seconds":1})";
    const auto short_lease = f.admin.post("/tasks", body).json();
    HttpClient a = f.client_with_token(agent.token);
    BOOST_TEST_REQUIRE(a.get("/tasks/next?agent_id=" + agent.id).status == 200u);  // the first task
    BOOST_TEST_REQUIRE(a.get("/tasks/next?agent_id=" + agent.id).status == 200u);  // the short lease
    const std::string short_id(short_lease.at("id").as_string());
    bool released = false;
    for (int i = 0; i < 20'000 && !released; ++i)
        released = f.admin.get("/tasks/" + short_id).json().at("status") == "pending";
    BOOST_TEST_REQUIRE(released);
    BOOST_TEST(at(scrape(c), "taskd_lease_expiries_total") == 1);
}

BOOST_AUTO_TEST_CASE(metrics_auth_puts_it_behind_the_admin_token) {
    ServerFixture f({"--metrics-auth=true"});
    BOOST_TEST(f.client().get("/metrics").status == 401u);
    const auto agent = f.register_agent(new_uuid());
    BOOST_TEST(f.client_with_token(agent.token).get("/metrics").status == 403u);
    BOOST_TEST(f.admin.get("/metrics").status == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
