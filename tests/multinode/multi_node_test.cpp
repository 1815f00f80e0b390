// Several taskd nodes on one PostgreSQL (issue 20): what one node answered, every node sees; a
// task goes to exactly one agent whichever nodes the agents ask; a long poll on one node wakes
// for a task created on another; a node killed loses nothing it answered; a database restarted
// under load costs 503s, then service comes back by itself.
//
// Each test starts its own PostgreSQL (tests/support/postgres_cluster) and two real taskd
// processes with the same admin token. Where PostgreSQL is not installed the suite says so and
// is skipped (exit 77).
#include "backend/postgres_schema.hpp"
#include "pg/connection.hpp"
#include "two_nodes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace taskd::test {
namespace {

// Runs SQL through our own client (lib/pg): one statement, or with `script` several; true when
// it succeeded.
bool run_sql(const std::string& url, const std::string& sql, bool script = false) {
    namespace net = boost::asio;
    net::io_context io;
    bool ok = false;
    net::co_spawn(io, [&]() -> net::awaitable<void> {
        auto connection = co_await pg::Connection::open(io.get_executor(), url);
        if (!connection) co_return;
        if (script) ok = (co_await (*connection)->script(sql)).has_value();
        else ok = (co_await (*connection)->query(sql)).has_value();
    }, net::detached);
    io.run();
    return ok;
}

// Waits (bounded) until `node`'s gauge shows `n` long polls waiting; false if it never does.
bool long_polls_waiting(const ServerProcess& node, int n) {
    auto admin = TwoNodes::admin(node);
    const std::string gauge = "taskd_long_poll_waiters " + std::to_string(n) + "\n";
    for (int i = 0; i < 3000; ++i) {
        if (admin.get("/metrics").body.find(gauge) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds{10});  // polling a gauge, bounded
    }
    return false;
}

// A task row as a taskd of schema 1 or later writes it: pending (status 0) or completed (2).
std::string insert_task_sql(const std::string& id, const std::string& tenant, int status, std::int64_t created_us) {
    const std::string created = std::to_string(created_us);
    return "INSERT INTO taskd_tasks (id, tenant_id, type, payload, status, created_at, updated_at, attempts, "
           "max_attempts, lease_seconds, version) VALUES ('" + id + "', '" + tenant + "', 'noop', '{}', " +
           std::to_string(status) + ", " + created + ", " + created + ", 0, 3, 300, 1)";
}

// The url of a database as a taskd of schema `version` left it: its steps applied and recorded.
std::string database_of_schema(PostgresCluster& cluster, int version) {
    cluster.create_database("taskd");
    const std::string url = cluster.url("taskd");
    for (int step = 1; step <= version; ++step)
        BOOST_TEST_REQUIRE(run_sql(url, std::string(backend::schema_step(step)), true));
    BOOST_TEST_REQUIRE(run_sql(url, "CREATE TABLE taskd_schema (version integer NOT NULL)"));
    BOOST_TEST_REQUIRE(run_sql(url, "INSERT INTO taskd_schema VALUES (" + std::to_string(version) + ")"));
    return url;
}

// Fails (division by zero) unless the database records the current schema version.
bool schema_is_current(const std::string& url) {
    return run_sql(url, "SELECT 1 / (SELECT count(*) FROM taskd_schema WHERE version = " +
                            std::to_string(backend::kSchemaVersion) + ")::integer");
}

// One node started on `url` (a database an older taskd left, migrated at start); returns the
// tenant's two tasks as GET /tasks lists them, newest first (test-fails unless there are two).
boost::json::array start_and_list_two(ServerProcess& node, const TempDir& dir, const std::string& url,
                                      const std::string& tenant) {
    node.start(dir.path() / "a", {"--database-url", url}, {std::string("TASKD_ADMIN_TOKEN=") + kAdminToken});
    auto all = TwoNodes::admin(node).get("/tasks?tenant_id=" + tenant);
    BOOST_TEST_REQUIRE(all.status == 200u, all.body);
    BOOST_TEST_REQUIRE(all.json().as_array().size() == 2u, all.body);
    return all.json().as_array();
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(multi_node)

BOOST_AUTO_TEST_CASE(a_task_created_on_one_node_is_read_and_claimed_on_the_other) {
    TwoNodes nodes;
    auto admin_a = TwoNodes::admin(nodes.a);
    auto admin_b = TwoNodes::admin(nodes.b);
    const std::string tenant = new_uuid();
    auto created = admin_a.post("/tasks", task_body(tenant));
    BOOST_TEST_REQUIRE(created.status == 201u, created.body);
    const std::string id = id_of(created);

    auto read = admin_b.get("/tasks/" + id);
    BOOST_TEST_REQUIRE(read.status == 200u, read.body);
    BOOST_TEST(read.body == created.body);

    const auto agent = register_agent(admin_a, tenant);  // registered on A, claims on B
    auto on_b = TwoNodes::as(nodes.b, agent.token);
    auto claimed = on_b.get("/tasks/next?agent_id=" + agent.id);
    BOOST_TEST_REQUIRE(claimed.status == 200u, claimed.body);
    BOOST_TEST(id_of(claimed) == id);
    BOOST_TEST(claimed.json().at("status").as_string() == "running");

    auto done = TwoNodes::as(nodes.a, agent.token).patch("/tasks/" + id, R"({"status":"completed","result":{"ok":1}})");
    BOOST_TEST_REQUIRE(done.status == 200u, done.body);
    auto after = admin_b.get("/tasks/" + id);
    BOOST_TEST(after.json().at("status").as_string() == "completed");
    BOOST_TEST(boost::json::serialize(after.json().at("result")) == R"({"ok":1})");
}

BOOST_AUTO_TEST_CASE(thousands_of_tasks_claimed_over_both_nodes_exactly_once) {
    TwoNodes nodes;
    auto admin = TwoNodes::admin(nodes.a);
    constexpr int kTasks = 2000;
    constexpr int kAgents = 12;
    const std::string tenant = new_uuid();
    std::set<std::string> created;
    for (int i = 0; i < kTasks; ++i) {
        auto r = admin.post("/tasks", task_body(tenant));
        BOOST_TEST_REQUIRE(r.status == 201u, r.body);
        created.insert(id_of(r));
    }
    // Half the agents are the tenant's, half shared; each alternates between the nodes.
    std::vector<AgentCredentials> agents;
    for (int i = 0; i < kAgents; ++i) agents.push_back(register_agent(admin, i % 2 ? tenant : std::string()));

    std::mutex mutex;
    std::vector<std::string> claims;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kAgents; ++i) {
        threads.emplace_back([&, i] {
            HttpClient on[2] = {TwoNodes::as(nodes.a, agents[i].token), TwoNodes::as(nodes.b, agents[i].token)};
            for (int n = 0;; ++n) {
                auto r = on[n % 2].get("/tasks/next?agent_id=" + agents[i].id);
                if (r.status != 200) {
                    ++failures;
                    return;
                }
                if (r.body == "null") return;
                std::lock_guard lock(mutex);
                claims.push_back(id_of(r));
            }
        });
    }
    for (auto& t : threads) t.join();
    BOOST_TEST(failures.load() == 0);
    BOOST_TEST(claims.size() == created.size());
    const std::set<std::string> distinct(claims.begin(), claims.end());
    BOOST_TEST(distinct.size() == claims.size());  // no task handed out twice
    BOOST_TEST((distinct == created));             // and every task handed out
}

BOOST_AUTO_TEST_CASE(a_long_poll_on_one_node_is_woken_by_a_create_on_the_other) {
    TwoNodes nodes;
    auto admin_a = TwoNodes::admin(nodes.a);
    const std::string tenant = new_uuid();
    const auto agent = register_agent(admin_a, tenant);
    std::optional<HttpResponse> polled;
    std::thread poller([&] {
        // 60 s: far longer than this test takes when the wake-up works.
        polled = TwoNodes::as(nodes.b, agent.token).get("/tasks/next?wait=60&agent_id=" + agent.id);
    });
    // Create once node B has the poll waiting (its gauge says so), on node A.
    auto admin_b = TwoNodes::admin(nodes.b);
    bool waiting = false;
    for (int i = 0; i < 3000 && !waiting; ++i) {
        waiting = admin_b.get("/metrics").body.find("taskd_long_poll_waiters 1") != std::string::npos;
        if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds{10});  // polling a gauge, bounded
    }
    BOOST_TEST_REQUIRE(waiting);
    auto created = admin_a.post("/tasks", task_body(tenant));
    BOOST_TEST_REQUIRE(created.status == 201u);
    poller.join();
    BOOST_TEST_REQUIRE(polled.has_value());
    BOOST_TEST_REQUIRE(polled->status == 200u, polled->body);
    BOOST_TEST_REQUIRE(polled->body != "null");  // woken with the task, not at its deadline
    BOOST_TEST(id_of(*polled) == id_of(created));
}

// The notice of a task made claimable is sent after its change commits (backend/postgres_notices):
// a node killed in between sends none. A task no node was told of (here: written into the table
// directly) is found by a waiting long poll at the next maintenance pass, not at its deadline: a
// poll at its deadline looks once more and would answer the task too, so the debug log's line of
// the wake-up is what tells the two apart.
BOOST_AUTO_TEST_CASE(a_long_poll_finds_a_task_no_node_was_told_of_at_the_next_maintenance_pass) {
    TwoNodes nodes({"--log-level", "debug"});
    auto admin_a = TwoNodes::admin(nodes.a);
    const std::string tenant = new_uuid();
    const auto agent = register_agent(admin_a, tenant);
    std::optional<HttpResponse> polled;
    std::thread poller([&] { polled = TwoNodes::as(nodes.b, agent.token).get("/tasks/next?wait=60&agent_id=" + agent.id); });
    BOOST_TEST_REQUIRE(long_polls_waiting(nodes.b, 1));
    const std::string id = new_uuid();
    BOOST_TEST_REQUIRE(run_sql(nodes.cluster.url("taskd"), insert_task_sql(id, tenant, 0, now_us())));
    BOOST_TEST(nodes.b.wait_for_log("long poll woken for a task of tenant " + tenant));
    poller.join();
    BOOST_TEST_REQUIRE(polled.has_value());
    BOOST_TEST_REQUIRE(polled->status == 200u, polled->body);
    BOOST_TEST_REQUIRE(polled->body != "null");  // found before its 60 s deadline
    BOOST_TEST(id_of(*polled) == id);
}

// A claim does not lock its agent's row, so a claim in flight while the agent is deleted may take
// a task for it; so does a node stopped between deleting an agent and releasing its tasks. Here
// the agent's row is deleted directly, as if its node had stopped there: the maintenance pass
// (every 200 ms here) gives the task back, long before its 300 s lease would.
BOOST_AUTO_TEST_CASE(a_task_held_by_a_deleted_agent_is_given_back_by_the_maintenance_pass) {
    TwoNodes nodes;
    auto admin_a = TwoNodes::admin(nodes.a);
    const std::string tenant = new_uuid();
    const auto agent = register_agent(admin_a, tenant);
    auto created = admin_a.post("/tasks", task_body(tenant));
    BOOST_TEST_REQUIRE(created.status == 201u, created.body);
    const std::string id = id_of(created);
    auto claimed = TwoNodes::as(nodes.b, agent.token).get("/tasks/next?agent_id=" + agent.id);
    BOOST_TEST_REQUIRE(claimed.status == 200u, claimed.body);
    BOOST_TEST_REQUIRE(id_of(claimed) == id);
    BOOST_TEST_REQUIRE(run_sql(nodes.cluster.url("taskd"), "DELETE FROM taskd_agents WHERE id = '" + agent.id + "'"));
    std::string status;
    for (int i = 0; i < 3000 && status != "pending"; ++i) {
        status = std::string(admin_a.get("/tasks/" + id).json().at("status").as_string());
        if (status != "pending") std::this_thread::sleep_for(std::chrono::milliseconds{10});  // bounded poll
    }
    BOOST_TEST(status == "pending");
    auto other = register_agent(admin_a, tenant);
    auto again = TwoNodes::as(nodes.a, other.token).get("/tasks/next?agent_id=" + other.id);
    BOOST_TEST_REQUIRE(again.status == 200u, again.body);
    BOOST_TEST(id_of(again) == id);
}

// Retention on PostgreSQL: completed and failed tasks older than --retain are dropped by
// whichever node's pass comes first (through the index of finished tasks, schema 2); pending and
// running ones stay.
BOOST_AUTO_TEST_CASE(retention_drops_completed_and_failed_tasks_and_keeps_the_rest) {
    TwoNodes nodes({"--retain", "1ms"});
    auto admin = TwoNodes::admin(nodes.a);
    const std::string tenant = new_uuid();
    const auto agent = register_agent(admin, tenant);
    auto as_agent = TwoNodes::as(nodes.b, agent.token);
    std::vector<std::string> finished, kept;
    for (const char* status : {"completed", "failed"}) {
        auto created = admin.post("/tasks", task_body(tenant));
        BOOST_TEST_REQUIRE(created.status == 201u, created.body);
        auto claimed = as_agent.get("/tasks/next?agent_id=" + agent.id);
        BOOST_TEST_REQUIRE(claimed.status == 200u, claimed.body);
        auto done = as_agent.patch("/tasks/" + id_of(claimed), std::string(R"({"status":")") + status + R"("})");
        BOOST_TEST_REQUIRE(done.status == 200u, done.body);
        finished.push_back(id_of(claimed));
    }
    BOOST_TEST_REQUIRE(admin.post("/tasks", task_body(tenant)).status == 201u);
    kept.push_back(id_of(as_agent.get("/tasks/next?agent_id=" + agent.id)));
    kept.push_back(id_of(admin.post("/tasks", task_body(tenant))));  // pending
    std::size_t gone = 0;
    for (int i = 0; i < 3000 && gone < finished.size(); ++i) {
        gone = 0;
        for (const auto& id : finished) gone += admin.get("/tasks/" + id).status == 404u;
        if (gone < finished.size()) std::this_thread::sleep_for(std::chrono::milliseconds{10});  // bounded poll
    }
    BOOST_TEST(gone == finished.size());
    for (const auto& id : kept) BOOST_TEST(admin.get("/tasks/" + id).status == 200u);
}

// Schema 2 replaced the listings' indexes; a database a taskd of schema 1 left is migrated on
// start, and its tasks are listed, filtered and claimed as before.
BOOST_AUTO_TEST_CASE(a_database_of_schema_1_is_migrated_and_keeps_its_tasks) {
    PostgresCluster cluster;
    const std::string url = database_of_schema(cluster, 1);
    const std::string tenant = new_uuid();
    const std::string finished = new_uuid(), pending = new_uuid();
    const auto t0 = now_us();
    BOOST_TEST_REQUIRE(run_sql(url, insert_task_sql(finished, tenant, 2, t0)));
    BOOST_TEST_REQUIRE(run_sql(url, insert_task_sql(pending, tenant, 0, t0 + 1)));

    TempDir dir;
    ServerProcess node;
    const auto all = start_and_list_two(node, dir, url, tenant);
    auto admin = TwoNodes::admin(node);
    BOOST_TEST(all[0].at("id").as_string() == pending);  // newest first
    BOOST_TEST(all[1].at("id").as_string() == finished);
    auto done = admin.get("/tasks?status=completed&tenant_id=" + tenant);
    BOOST_TEST_REQUIRE(done.json().as_array().size() == 1u, done.body);
    BOOST_TEST(done.json().as_array()[0].at("id").as_string() == finished);

    const auto agent = register_agent(admin, tenant);
    auto claimed = TwoNodes::as(node, agent.token).get("/tasks/next?agent_id=" + agent.id);
    BOOST_TEST_REQUIRE(claimed.status == 200u, claimed.body);
    BOOST_TEST(id_of(claimed) == pending);
    BOOST_TEST(schema_is_current(url));
}

// Schema 3 (issue 23) added priority and not_before: a database of schema 2 is migrated on
// start, its tasks get priority 5 and no not_before, and are claimed after higher priorities.
BOOST_AUTO_TEST_CASE(a_database_of_schema_2_is_migrated_and_its_tasks_get_priority_5) {
    PostgresCluster cluster;
    const std::string url = database_of_schema(cluster, 2);
    const std::string tenant = new_uuid();
    const std::string older = new_uuid(), newer = new_uuid();
    const auto t0 = now_us();
    BOOST_TEST_REQUIRE(run_sql(url, insert_task_sql(older, tenant, 0, t0)));
    BOOST_TEST_REQUIRE(run_sql(url, insert_task_sql(newer, tenant, 0, t0 + 1)));

    TempDir dir;
    ServerProcess node;
    const auto listed = start_and_list_two(node, dir, url, tenant);
    auto admin = TwoNodes::admin(node);
    for (const auto& t : listed) {
        BOOST_TEST(t.at("priority").as_int64() == 5);
        BOOST_TEST(t.at("not_before").is_null());
    }
    auto urgent = admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"noop","priority":9})");
    BOOST_TEST_REQUIRE(urgent.status == 201u, urgent.body);

    const auto agent = register_agent(admin, tenant);
    auto as_agent = TwoNodes::as(node, agent.token);
    std::vector<std::string> order;
    for (int i = 0; i < 3; ++i) {
        auto claimed = as_agent.get("/tasks/next?agent_id=" + agent.id);
        BOOST_TEST_REQUIRE(claimed.status == 200u, claimed.body);
        order.push_back(id_of(claimed));
    }
    BOOST_TEST(order == (std::vector<std::string>{id_of(urgent), older, newer}), boost::test_tools::per_element());
    BOOST_TEST(schema_is_current(url));
}

BOOST_AUTO_TEST_CASE(a_node_killed_under_writes_loses_nothing_it_answered) {
    TwoNodes nodes;
    const std::string tenant = new_uuid();
    std::mutex mutex;
    std::vector<std::string> answered;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&] {
            auto admin = TwoNodes::admin(nodes.a);
            while (!stop) {
                try {
                    auto r = admin.post("/tasks", task_body(tenant));
                    if (r.status != 201) continue;
                    std::lock_guard lock(mutex);
                    answered.push_back(id_of(r));
                } catch (const std::exception&) {
                    return;  // the node is gone
                }
            }
        });
    }
    // Kill it once it has answered a few hundred creates (an event, counted, not a time).
    for (int i = 0; i < 6000; ++i) {
        {
            std::lock_guard lock(mutex);
            if (answered.size() >= 300) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    nodes.a.kill();
    stop = true;
    for (auto& t : writers) t.join();
    BOOST_TEST_REQUIRE(answered.size() >= 300u);

    auto admin_b = TwoNodes::admin(nodes.b);
    std::size_t missing = 0;
    for (const auto& id : answered)
        if (admin_b.get("/tasks/" + id).status != 200) ++missing;
    BOOST_TEST(missing == 0u);
}

BOOST_AUTO_TEST_CASE(the_database_restarted_under_load_costs_503s_then_service_resumes_by_itself) {
    TwoNodes nodes;
    const std::string tenant = new_uuid();
    // Writers on both nodes for the whole test: every answer must be a 201 or a 503 (with
    // Retry-After), never another error, a hang or a crash.
    std::atomic<bool> stop{false};
    std::atomic<int> created{0}, refused{0}, other{0}, no_retry_after{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            auto admin = TwoNodes::admin(w % 2 ? nodes.b : nodes.a);
            while (!stop) {
                const auto r = admin.post("/tasks", task_body(tenant));
                if (r.status == 201) ++created;
                else if (r.status == 503) {
                    ++refused;
                    if (r.header("retry-after") != "1") ++no_retry_after;
                } else {
                    ++other;
                }
            }
        });
    }
    auto admin = TwoNodes::admin(nodes.a);
    const auto wait_for = [](const std::atomic<int>& counter, int at_least) {
        for (int i = 0; i < 6000 && counter.load() < at_least; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds{5});  // waiting for a count, bounded
        return counter.load() >= at_least;
    };
    BOOST_TEST_REQUIRE(wait_for(created, 50));

    nodes.cluster.stop("fast");
    BOOST_TEST_REQUIRE(wait_for(refused, 20));  // the writers now get 503s
    // /readyz turns 503 once the pool has failed to open a connection (a broken one alone may
    // not have tried yet): an event to wait for, bounded.
    auto ready = admin.get("/readyz");
    for (int i = 0; i < 2000 && ready.status == 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
        ready = admin.get("/readyz");
    }
    BOOST_TEST(ready.status == 503u, ready.body);
    BOOST_TEST(ready.json().at("detail").as_string().find("database") != std::string::npos, ready.body);
    BOOST_TEST(admin.get("/healthz").status == 200u);

    const int created_while_down = created.load();
    nodes.cluster.start();
    // The pools reconnect by themselves (with backoff) and say so.
    BOOST_TEST_REQUIRE(nodes.a.wait_for_log("database: reachable again"));
    BOOST_TEST_REQUIRE(nodes.b.wait_for_log("database: reachable again"));
    BOOST_TEST_REQUIRE(wait_for(created, created_while_down + 50));  // both nodes serve again
    stop = true;
    for (auto& t : writers) t.join();
    BOOST_TEST(admin.get("/readyz").status == 200u);
    BOOST_TEST(other.load() == 0);
    BOOST_TEST(no_retry_after.load() == 0);
    BOOST_TEST(nodes.a.running());
    BOOST_TEST(nodes.b.running());
}

BOOST_AUTO_TEST_CASE(a_database_with_a_newer_schema_is_refused_with_a_clear_message) {
    PostgresCluster cluster;
    cluster.create_database("taskd");
    TempDir dir;
    {
        ServerProcess node;  // creates the schema
        node.start(dir.path() / "a", {"--database-url", cluster.url("taskd")});
        node.stop();
    }
    // A later taskd moved the schema on.
    BOOST_TEST_REQUIRE(run_sql(cluster.url("taskd"), "INSERT INTO taskd_schema VALUES (99)"));
    std::string output;
    const int status = ServerProcess::run_to_exit(
        {"--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "b").string(), "--database-url", cluster.url("taskd")},
        &output);
    BOOST_TEST(status == 1, output);
    BOOST_TEST(output.find("newer than this taskd knows") != std::string::npos, output);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace taskd::test
