// taskd-bench's scenarios against a real taskd: what the load generator counts as done must be
// what the server did. A lifecycle run must leave every task it reports completed, exactly once;
// a claim run must hand out every queued task exactly once; answers the server refuses must be
// failures, never throughput.
#include "fixture.hpp"

#include "bench/console_pollers.hpp"
#include "bench/load.hpp"
#include "bench/scenarios.hpp"

#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>

using namespace taskd::test;
namespace bench = taskd::bench;

namespace {

bench::ScenarioOptions options_for(const ServerFixture& f, const std::string& admin_token) {
    bench::ScenarioOptions o;
    o.target.host = "127.0.0.1";
    o.target.port = f.server.port();
    o.target.admin_token = admin_token;
    return o;
}

bench::LoadPlan plan(std::size_t connections, std::uint64_t operations) {
    bench::LoadPlan p;
    p.connections = connections;
    p.threads = 2;
    p.operations = operations;
    p.timeout = std::chrono::seconds{30};
    return p;
}

// Scenario `name` run with `options` until `operations` are done over `connections`.
bench::RunStats run(const std::string& name, const bench::ScenarioOptions& options, std::size_t connections,
                    std::uint64_t operations) {
    auto scenario = bench::make_scenario(name, options);
    return bench::run_load(*scenario, plan(connections, operations));
}

// Every task the server holds, by id (GET /tasks without a limit lists them all).
std::map<std::string, boost::json::object> all_tasks(ServerFixture& f) {
    const auto r = f.admin.get("/tasks");
    BOOST_TEST_REQUIRE(r.status == 200u);
    std::map<std::string, boost::json::object> tasks;
    const boost::json::value listing = r.json();
    for (const auto& t : listing.as_array()) {
        const auto& o = t.as_object();
        const bool fresh = tasks.emplace(std::string(o.at("id").as_string()), o).second;
        BOOST_TEST_REQUIRE(fresh);  // no task listed twice
    }
    return tasks;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bench_scenarios)

BOOST_AUTO_TEST_CASE(lifecycle_completes_every_task_it_counts_exactly_once) {
    ServerFixture f;
    const auto options = options_for(f, f.server.admin_token());
    const auto stats = run("lifecycle", options, 8, 400);

    BOOST_TEST(stats.failed == 0u);
    BOOST_TEST(stats.ok == 400u);
    BOOST_TEST(stats.requests == 3u * 400u);  // create, claim, complete
    BOOST_TEST(stats.latency_ns.count() == 400u);

    const auto tasks = all_tasks(f);
    BOOST_TEST(tasks.size() == 400u);
    std::set<std::string> agents;
    for (const auto& [id, t] : tasks) {
        BOOST_TEST_CONTEXT("task " << id) {
            BOOST_TEST(t.at("status").as_string() == "completed");
            BOOST_TEST(t.at("attempts").as_int64() == 1);  // claimed once, never re-queued
            BOOST_TEST(t.at("result").at("bytes_written").as_int64() == 16);
            agents.insert(std::string(t.at("agent_id").as_string()));
        }
    }
    BOOST_TEST(agents.size() == 8u);  // one agent per connection, each completing its own tasks
}

// --console-pollers: open consoles polling GET /stats beside the run, outside its figures.
BOOST_AUTO_TEST_CASE(console_pollers_poll_stats_beside_a_run) {
    ServerFixture f;
    const auto options = options_for(f, f.server.admin_token());
    bench::ConsolePollers consoles(options.target, 2);  // first polls 0 s and 1 s from now
    const auto stats = run("lifecycle", options, 4, 200);
    BOOST_TEST(stats.failed == 0u);
    BOOST_TEST(stats.requests == 3u * 200u);  // the polls are not the run's
    // Bounded by work, not by sleeping: each round trip takes its time.
    for (int i = 0; i < 20'000 && consoles.counts().polls < 2; ++i) f.client().get("/healthz");
    const auto counts = consoles.stop();
    BOOST_TEST(counts.polls >= 2u);
    BOOST_TEST(counts.failed == 0u);
}

BOOST_AUTO_TEST_CASE(console_pollers_count_a_refused_poll_as_failed) {
    ServerFixture f;
    auto options = options_for(f, "not-the-admin-token");
    bench::ConsolePollers consoles(options.target, 1);
    for (int i = 0; i < 20'000 && consoles.counts().failed < 1; ++i) f.client().get("/healthz");
    const auto counts = consoles.stop();
    BOOST_TEST(counts.failed >= 1u);  // 401
    BOOST_TEST(counts.polls == 0u);
}

BOOST_AUTO_TEST_CASE(claim_hands_out_every_queued_task_once) {
    ServerFixture f;
    auto options = options_for(f, f.server.admin_token());
    options.prefill = 300;
    const auto stats = run("claim", options, 16, 300);

    BOOST_TEST(stats.failed == 0u);
    BOOST_TEST(stats.ok == 300u);
    BOOST_TEST(stats.counters.at("prefilled") == 300u);
    const auto tasks = all_tasks(f);
    BOOST_TEST(tasks.size() == 300u);
    for (const auto& [id, t] : tasks) BOOST_TEST(t.at("status").as_string() == "running");
}

BOOST_AUTO_TEST_CASE(one_claim_more_than_was_queued_is_a_failure) {
    ServerFixture f;
    auto options = options_for(f, f.server.admin_token());
    options.prefill = 20;
    const auto stats = run("claim", options, 1, 21);
    BOOST_TEST(stats.ok == 20u);
    BOOST_TEST(stats.failed == 1u);
    BOOST_TEST(stats.errors.at("claim: wrong body") == 1u);
    BOOST_TEST(stats.error_samples.at("claim: wrong body").find("null") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(get_reads_back_the_tasks_it_created) {
    ServerFixture f;
    const auto options = options_for(f, f.server.admin_token());
    const auto stats = run("get", options, 4, 200);
    BOOST_TEST(stats.ok == 200u);
    BOOST_TEST(stats.failed == 0u);
    BOOST_TEST(stats.errors.empty());
    // Four tasks per session, read and never changed.
    const auto tasks = all_tasks(f);
    BOOST_TEST(tasks.size() == 16u);
    for (const auto& [id, task] : tasks) BOOST_TEST(task.at("status").as_string() == "pending");
}

// `get` checks each task's first answer in full and then expects the same bytes: a task that
// changes during the run must show up as wrong bodies, not as throughput.
BOOST_AUTO_TEST_CASE(get_counts_an_answer_that_changed_as_a_wrong_body) {
    ServerFixture f;
    const auto options = options_for(f, f.server.admin_token());
    auto scenario = bench::make_scenario("get", options);
    bench::LoadPlan p = plan(1, 0);
    p.operations.reset();
    p.duration = std::chrono::seconds{3};
    bool cancelled = false;
    // The first progress report comes a second into the load; the session goes on for two more.
    p.on_progress = [&](const bench::Progress&) {
        if (cancelled) return;
        cancelled = true;
        const auto tasks = all_tasks(f);
        BOOST_TEST_REQUIRE(tasks.size() == 4u);
        const auto r = f.admin.patch("/tasks/" + tasks.begin()->first, R"({"status": "failed"})");
        BOOST_TEST_REQUIRE(r.status == 200u);
    };
    const auto stats = bench::run_load(*scenario, p);
    BOOST_TEST_REQUIRE(cancelled);
    BOOST_TEST(stats.ok > 0u);
    BOOST_TEST(stats.failed > 0u);
    BOOST_TEST(stats.errors.at("get: wrong body") == stats.failed);
    BOOST_TEST(stats.error_samples.at("get: wrong body").find("another answer") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(refused_requests_are_failures_not_throughput) {
    ServerFixture f;
    const auto options = options_for(f, "not-the-admin-token");
    const auto stats = run("create", options, 4, 50);
    BOOST_TEST(stats.ok == 0u);
    BOOST_TEST(stats.failed == 50u);
    BOOST_TEST(stats.errors.at("create: HTTP 401") == 50u);
    BOOST_TEST(stats.latency_ns.count() == 0u);
    BOOST_TEST(stats.ops_per_second() == 0.0);
    BOOST_TEST(all_tasks(f).empty());
}

BOOST_AUTO_TEST_CASE(setup_that_the_server_refuses_stops_the_run) {
    ServerFixture f;
    const auto options = options_for(f, "not-the-admin-token");
    BOOST_CHECK_THROW(run("lifecycle", options, 2, 10), std::runtime_error);  // cannot register its agents
}

BOOST_AUTO_TEST_CASE(longpoll_claims_and_completes_every_task_produced) {
    ServerFixture f;
    auto options = options_for(f, f.server.admin_token());
    options.wait_seconds = 1;
    options.producers = 2;
    const auto stats = run("longpoll", options, 4, 200);

    BOOST_TEST(stats.failed == 0u);
    BOOST_TEST(stats.ok == 200u);  // an operation is a task claimed and completed
    BOOST_TEST(stats.counters.at("tasks_created") == 200u);
    const auto tasks = all_tasks(f);
    BOOST_TEST(tasks.size() == 200u);
    for (const auto& [id, t] : tasks) {
        BOOST_TEST(t.at("status").as_string() == "completed");
        BOOST_TEST(t.at("attempts").as_int64() == 1);
    }
}

BOOST_AUTO_TEST_SUITE_END()
