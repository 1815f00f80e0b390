// Durability of the real server: restarts (clean and kill -9) bring back exactly what was
// answered; snapshots, torn tails, corruption, --recover, --check-data and retention.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

using namespace taskd::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::vector<fs::path> files_named(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// The whole listing as text, which a clean restart must reproduce byte for byte.
std::string everything(HttpClient& admin) {
    return admin.get("/tasks").body + "\n" + admin.get("/agents").body;
}

// After kill -9 the same, but for agents' last_seen_at: a hint, logged at most once a second,
// so the restarted value may be older (never newer, never null once set).
void expect_same_after_kill(HttpClient& admin, const std::string& before) {
    const auto split = before.find('\n');
    BOOST_TEST(admin.get("/tasks").body == before.substr(0, split));
    const json::array was = json::parse(before.substr(split + 1)).as_array();
    json::array now = admin.get("/agents").json().as_array();
    BOOST_TEST_REQUIRE(now.size() == was.size());
    for (std::size_t i = 0; i < was.size(); ++i) {
        json::object a = was[i].as_object(), b = now[i].as_object();
        const auto seen_was = a["last_seen_at"], seen_now = b["last_seen_at"];
        BOOST_TEST((seen_was.is_null() || (seen_now.is_string() && seen_now.as_string() <= seen_was.as_string())));
        a.erase("last_seen_at");
        b.erase("last_seen_at");
        BOOST_TEST(json::serialize(a) == json::serialize(b));
    }
}

// A small history: tasks in two tenants, agents, claims, a completion, a failure, a re-queue.
void make_history(ServerFixture& f) {
    const std::string a = new_uuid(), b = new_uuid();
    const auto agent = f.register_agent(a, "a1");
    const auto shared = f.register_agent({}, "shared");
    for (int i = 0; i < 6; ++i) f.create_task(i % 2 ? a : b, "t" + std::to_string(i), R"({"i":)" + std::to_string(i) + "}");
    HttpClient edge = f.client_with_token(agent.token);
    HttpClient any = f.client_with_token(shared.token);
    const auto first = edge.get("/tasks/next?agent_id=" + agent.id).json();
    const std::string first_id(first.at("id").as_string());
    BOOST_TEST_REQUIRE(edge.patch("/tasks/" + first_id, R"({"status":"completed","result":{"ok":1}})").status == 200u);
    const auto second = any.get("/tasks/next?agent_id=" + shared.id).json();
    BOOST_TEST_REQUIRE(any.patch("/tasks/" + std::string(second.at("id").as_string()), R"({"status":"failed"})").status == 200u);
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + first_id, R"({"status":"pending"})").status == 200u);
    BOOST_TEST_REQUIRE(edge.get("/tasks/next?agent_id=" + agent.id).status == 200u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(durability, *boost::unit_test::label("embedded"))  // the journal's: not run on PostgreSQL

BOOST_AUTO_TEST_CASE(clean_restart_and_kill_9_bring_back_every_answered_change) {
    ServerFixture f;
    make_history(f);
    const std::string before = everything(f.admin);

    BOOST_TEST(f.server.stop() == 0);
    f.server.start(f.dir.path() / "data");
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());
    BOOST_TEST(everything(admin) == before);

    f.server.kill();  // SIGKILL: nothing is flushed on the way out
    f.server.start(f.dir.path() / "data");
    HttpClient again(f.server.port());
    again.set_token(f.server.admin_token());
    expect_same_after_kill(again, before);
}

BOOST_AUTO_TEST_CASE(every_fsync_mode_survives_kill_9) {
    for (const std::string mode : {"always", "interval", "never"}) {
        BOOST_TEST_CONTEXT("--fsync " << mode) {
            ServerFixture f({"--fsync", mode});
            make_history(f);
            const std::string before = everything(f.admin);
            f.server.kill();
            f.server.start(f.dir.path() / "data", {"--fsync", mode});
            HttpClient admin(f.server.port());
            admin.set_token(f.server.admin_token());
            expect_same_after_kill(admin, before);
        }
    }
}

BOOST_AUTO_TEST_CASE(snapshots_bound_the_journal_and_recover_the_same_state) {
    const std::vector<std::string> args{"--snapshot-every-records", "20", "--maintenance-interval", "20ms"};
    ServerFixture f(args);
    const std::string tenant = new_uuid();
    for (int i = 0; i < 60; ++i) f.create_task(tenant);
    BOOST_TEST_REQUIRE(f.server.wait_for_log("snapshot at record"));
    make_history(f);
    const std::string before = everything(f.admin);
    const auto data = f.dir.path() / "data";
    BOOST_TEST(files_named(data, "snapshot-").size() >= 1u);

    f.server.kill();
    f.server.start(data, args);
    BOOST_TEST(f.server.log().find("ready: ") != std::string::npos);
    BOOST_TEST(f.server.log().find("snapshot snapshot-") != std::string::npos);
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());
    expect_same_after_kill(admin, before);
}

BOOST_AUTO_TEST_CASE(a_torn_tail_is_cut_and_logged) {
    ServerFixture f;
    make_history(f);
    const std::string before = everything(f.admin);
    BOOST_TEST(f.server.stop() == 0);
    const auto data = f.dir.path() / "data";
    const auto segments = files_named(data, "journal-");
    BOOST_TEST_REQUIRE(!segments.empty());
    {
        // Half a record, as a process killed inside write(2) would leave it.
        std::ofstream out(segments.back(), std::ios::binary | std::ios::app);
        out << std::string("\x12\x34\x56\x78\x40\x00\x00\x00\x01\x09", 10);
    }
    std::string check;
    BOOST_TEST(ServerProcess::run_to_exit({"--check-data", data.string()}, &check) == 1);
    BOOST_TEST(check.find("torn tail") != std::string::npos);

    f.server.start(data);
    BOOST_TEST(f.server.log().find("torn tail") != std::string::npos);
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());
    BOOST_TEST(everything(admin) == before);
}

BOOST_AUTO_TEST_CASE(damage_before_good_data_stops_the_start_until_recover_truncate_corrupt) {
    ServerFixture f({"--fsync", "always"});
    const std::string tenant = new_uuid();
    for (int i = 0; i < 10; ++i) f.create_task(tenant);
    BOOST_TEST(f.server.stop() == 0);
    const auto data = f.dir.path() / "data";
    auto segments = files_named(data, "journal-");
    // The first segment holds the ten creates; damage a byte in its third record.
    fs::path first = segments.front();
    {
        std::fstream io(first, std::ios::binary | std::ios::in | std::ios::out);
        const std::string bytes((std::istreambuf_iterator<char>(io)), std::istreambuf_iterator<char>());
        // Its records end at the file's end (a clean stop gives the reservation back) or where
        // only the zeros of a reservation follow.
        const auto data_end = static_cast<long>(bytes.find_last_not_of('\0') + 1);
        BOOST_TEST_REQUIRE(data_end > 24);
        const long at = 24 + (data_end - 24) * 25 / 100;
        io.clear();
        io.seekp(at);
        io.put(static_cast<char>(bytes[static_cast<std::size_t>(at)] ^ 0x5a));
    }
    std::string out;
    BOOST_TEST(ServerProcess::run_to_exit({"--check-data", data.string()}, &out) == 2);
    BOOST_TEST(out.find(first.filename().string()) != std::string::npos);

    const int status = ServerProcess::run_to_exit({"--listen", "127.0.0.1:0", "--data-dir", data.string()}, &out);
    BOOST_TEST(status == 1);
    BOOST_TEST(out.find(first.filename().string()) != std::string::npos);
    BOOST_TEST(out.find("--recover=truncate-corrupt") != std::string::npos);

    f.server.start(data, {"--recover", "truncate-corrupt"});
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());
    const auto listed = admin.get("/tasks").json().as_array();
    BOOST_TEST(listed.size() >= 1u);
    BOOST_TEST(listed.size() < 10u);
    // It serves and takes changes again.
    BOOST_TEST(admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"after"})").status == 201u);
}

BOOST_AUTO_TEST_CASE(check_data_reports_counts_without_changing_anything) {
    ServerFixture f;
    make_history(f);
    BOOST_TEST(f.server.stop() == 0);
    const auto data = f.dir.path() / "data";
    const auto sizes = [&] {
        std::vector<std::uintmax_t> s;
        for (const auto& p : files_named(data, "journal-")) s.push_back(fs::file_size(p));
        return s;
    };
    const auto before = sizes();
    std::string out;
    BOOST_TEST(ServerProcess::run_to_exit({"--check-data", data.string()}, &out) == 0);
    BOOST_TEST(out.find("tasks: 6 (pending 4, running 1, completed 0, failed 1)") != std::string::npos, out);
    BOOST_TEST(out.find("agents: 2") != std::string::npos, out);
    BOOST_TEST(out.find("damage: none") != std::string::npos, out);
    BOOST_TEST((sizes() == before));
}

BOOST_AUTO_TEST_CASE(a_second_server_on_the_same_directory_is_refused) {
    ServerFixture f;
    std::string out;
    const int status =
        ServerProcess::run_to_exit({"--listen", "127.0.0.1:0", "--data-dir", (f.dir.path() / "data").string()}, &out);
    BOOST_TEST(status == 1);
    BOOST_TEST(out.find("another taskd") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(retention_drops_finished_tasks_and_survives_restart) {
    const std::vector<std::string> args{"--retain", "1ms", "--maintenance-interval", "10ms"};
    ServerFixture f(args);
    const std::string tenant = new_uuid();
    const auto kept = f.create_task(tenant);
    const auto done = f.create_task(tenant);
    const std::string done_id(done.at("id").as_string());
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + done_id, R"({"status":"failed"})").status == 200u);
    BOOST_TEST_REQUIRE(f.server.wait_for_log("retention: dropped 1 finished tasks"));
    BOOST_TEST(f.admin.get("/tasks/" + done_id).status == 404u);
    BOOST_TEST(f.admin.get("/tasks/" + std::string(kept.at("id").as_string())).status == 200u);

    f.server.kill();
    f.server.start(f.dir.path() / "data", args);
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());
    BOOST_TEST(admin.get("/tasks/" + done_id).status == 404u);
    BOOST_TEST(admin.get("/tasks/" + std::string(kept.at("id").as_string())).status == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
