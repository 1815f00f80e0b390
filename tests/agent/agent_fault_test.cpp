// taskd-agent under faults: the server restarted while a task runs (the report waits for it),
// the lease lost (the late PATCH is answered 409, logged, and the agent goes on), SIGTERM while
// a task runs (the task finishes and is reported, then the agent exits 0), and a task that does
// not finish by the shutdown deadline (its command is killed, it is reported failed).
// Every step waits for an event: a log line, the fake docker at its FIFO, a task's state.
#include "agent_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <thread>

using namespace taskd::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string status_of(const json::value& task) { return std::string(task.at("status").as_string()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_faults)

BOOST_FIXTURE_TEST_CASE(a_report_waits_for_the_server_to_come_back, AgentFixture) {
    start_agent();
    fs::create_directories(root / "stack");
    docker_mode("block");
    const auto id = create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack").string()}});
    BOOST_TEST_REQUIRE(agent.wait_for_log("(DOCKER_RELOAD): claimed"));

    const auto port = server.port();
    BOOST_TEST_REQUIRE(server.stop() == 0);
    BOOST_TEST_REQUIRE(release_docker());  // the task finishes while the server is away
    BOOST_TEST_REQUIRE(agent.wait_for_log(": cannot report ("));
    BOOST_TEST_REQUIRE(agent.wait_for_log(": cannot report (", std::chrono::seconds{60}, 2));  // and retries

    server.start(dir.path() / "data", {"--listen", "127.0.0.1:" + std::to_string(port)});
    const auto t = wait_done(id);
    BOOST_TEST(status_of(t) == "completed");
    BOOST_TEST(t.at("result").at("exit_code").as_int64() == 0);
    BOOST_TEST(agent.wait_for_log(id + " (DOCKER_RELOAD): reported"));
    // And it claims again from the restarted server.
    const auto next = create("FILE_WRITE", json::object{{"path", (root / "after").string()}, {"content", "1"}});
    BOOST_TEST(status_of(wait_done(next)) == "completed");
}

BOOST_FIXTURE_TEST_CASE(a_lost_lease_is_logged_and_the_agent_goes_on, AgentFixture) {
    start_agent();
    fs::create_directories(root / "stack");
    docker_mode("block");
    const auto id = create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack").string()}});
    BOOST_TEST_REQUIRE(agent.wait_for_log("(DOCKER_RELOAD): claimed"));
    // The operator fails the task while the agent still runs it: the agent no longer holds it.
    auto cancel = admin.patch("/tasks/" + id, R"({"status":"failed","result":{"error":"cancelled by operator"}})");
    BOOST_TEST_REQUIRE(cancel.status == 200u);
    BOOST_TEST_REQUIRE(release_docker());
    BOOST_TEST(agent.wait_for_log(id + " (DOCKER_RELOAD): report answered 409, the lease is lost"));
    // The operator's word stands: the late report changed nothing.
    const auto t = admin.get("/tasks/" + id).json();
    BOOST_TEST(status_of(t) == "failed");
    BOOST_TEST(t.at("result").at("error").as_string() == "cancelled by operator");
    // The agent goes on with the next task.
    docker_mode("");
    const auto next = create("FILE_WRITE", json::object{{"path", (root / "next").string()}, {"content", "n"}});
    BOOST_TEST(status_of(wait_done(next)) == "completed");
    BOOST_TEST(read(root / "next") == "n");
}

BOOST_FIXTURE_TEST_CASE(sigterm_finishes_and_reports_the_running_task, AgentFixture) {
    start_agent({"--shutdown-timeout", "60s"});
    fs::create_directories(root / "stack");
    docker_mode("block");
    const auto id = create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack").string()}});
    BOOST_TEST_REQUIRE(agent.wait_for_log("(DOCKER_RELOAD): claimed"));
    agent.signal(SIGTERM);
    BOOST_TEST_REQUIRE(agent.wait_for_log("received SIGTERM"));
    // No more claims: a task created now stays pending.
    const auto later = create("FILE_WRITE", json::object{{"path", (root / "later").string()}, {"content", "x"}});
    BOOST_TEST_REQUIRE(release_docker());
    const auto t = wait_done(id);
    BOOST_TEST(status_of(t) == "completed");
    BOOST_TEST(agent.stop(0) == 0);  // exits by itself, status 0
    BOOST_TEST(agent.log().find(id + " (DOCKER_RELOAD): reported") != std::string::npos);
    BOOST_TEST(status_of(admin.get("/tasks/" + later).json()) == "pending");
    BOOST_TEST(!fs::exists(root / "later"));
}

BOOST_FIXTURE_TEST_CASE(a_task_past_the_shutdown_deadline_is_killed_and_reported, AgentFixture) {
    start_agent({"--shutdown-timeout", "1s"});
    fs::create_directories(root / "stack");
    docker_mode("block");
    const auto id = create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack").string()}});
    BOOST_TEST_REQUIRE(agent.wait_for_log("(DOCKER_RELOAD): claimed"));
    agent.signal(SIGTERM);
    BOOST_TEST(agent.stop(0) == 0);  // never released: the deadline kills the command
    const auto t = admin.get("/tasks/" + id).json();
    BOOST_TEST(status_of(t) == "failed");
    BOOST_TEST(t.at("result").at("error").as_string().find("cancelled: the agent is shutting down") == 0u);
    const std::string stat = read("/proc/" + read(bin / "pid").substr(0, read(bin / "pid").size() - 1) + "/stat");
    BOOST_TEST((stat.empty() || stat.at(stat.rfind(')') + 2) == 'Z'), "docker still running: " << stat);
}

BOOST_FIXTURE_TEST_CASE(heartbeats_keep_a_long_task_leased, AgentFixture) {
    start_agent();
    fs::create_directories(root / "stack");
    docker_mode("block");
    // A 6 s lease: the agent heartbeats every 2 s while the command runs (4 s of slack for a
    // loaded machine before a missed beat would cost the lease).
    const auto id = create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack").string()}},
                           R"(,"lease_seconds":6)");
    BOOST_TEST_REQUIRE(agent.wait_for_log("(DOCKER_RELOAD): claimed"));
    const auto first = admin.get("/tasks/" + id).json().at("lease_expires_at");
    // Each heartbeat moves the lease on; wait (bounded) for three of them, which outlast the
    // lease itself: without heartbeats the task would have gone back to pending.
    auto lease = first;
    for (int beats = 0; beats < 3;) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
        json::value now;
        do {
            now = admin.get("/tasks/" + id).json();
            BOOST_TEST_REQUIRE(status_of(now) == "running");
            BOOST_TEST_REQUIRE((std::chrono::steady_clock::now() < until), "no heartbeat in 30 s");
            std::this_thread::sleep_for(std::chrono::milliseconds{50});  // polling a state, bounded
        } while (now.at("lease_expires_at") == lease);
        lease = now.at("lease_expires_at");
        ++beats;
    }
    BOOST_TEST_REQUIRE(release_docker());
    const auto t = wait_done(id);
    BOOST_TEST(status_of(t) == "completed");
    BOOST_TEST(t.at("attempts").as_int64() == 1);  // never lost, never re-queued
}

BOOST_AUTO_TEST_SUITE_END()
