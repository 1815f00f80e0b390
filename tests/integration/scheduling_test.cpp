// API.md "Scheduling" (issue 23) on the real binary: priority, not_before / delay_seconds, and
// --shared-claim-order. What every store must do already (validation is bad_input_test's):
// the fields are stored, shown on every Task answer, filtered, kept across a restart, and
// cleared by a re-queue and a released lease; `oldest` keeps today's order; claims go by
// priority, a task is not claimable before its not_before, and `fair` rotates over tenants.
// Both stores run every case (TASKD_TEST_STORE).
//
// Synchronisation, never sleeps: a delayed task is awaited with a long poll (the server answers
// when it can claim it), and "never before its time" is read from the server's own timestamps.
#include "fixture.hpp"
#include "format2_records.hpp"
#include "raw_connection.hpp"
#include "test_store.hpp"

#include "journal/codec.hpp"
#include "journal/crc32c.hpp"
#include "journal/record.hpp"
#include "journal/recovery.hpp"
#include "journal/writer.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;
namespace utf = boost::unit_test;

namespace {

std::string str(const json::value& v, const char* key) {
    const auto& field = v.at(key);
    return field.is_null() ? std::string("null") : std::string(field.as_string());
}

std::string id_of(const json::value& v) { return str(v, "id"); }

json::value create(ServerFixture& f, const std::string& tenant, const std::string& extra = "") {
    auto r = f.admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"noop")" + extra + "}");
    BOOST_TEST_REQUIRE(r.status == 201u, r.status << " " << r.body);
    return r.json();
}

// An agent with its own connection.
struct Claimer {
    Claimer(ServerFixture& f, const std::string& tenant, const std::string& name)
        : credentials(f.register_agent(tenant, name)), client(f.client_with_token(credentials.token)) {}

    json::value next() {
        auto r = client.get("/tasks/next?agent_id=" + credentials.id);
        BOOST_TEST_REQUIRE(r.status == 200u, r.status << " " << r.body);
        return r.json();
    }
    std::string next_id() {
        const json::value v = next();
        return v.is_null() ? "null" : id_of(v);
    }
    std::vector<std::string> drain() {
        std::vector<std::string> out;
        for (std::string id = next_id(); id != "null"; id = next_id()) {
            out.push_back(id);
            BOOST_TEST_REQUIRE(out.size() <= 2000u, "claims never end");
        }
        return out;
    }
    // A long poll of up to `wait` seconds on a connection of its own; its answer (a task or null).
    json::value wait_next(ServerFixture& f, int wait) {
        RawConnection conn(f.server.port());
        conn.send(raw_request("GET", "/tasks/next?agent_id=" + credentials.id + "&wait=" + std::to_string(wait),
                              credentials.token));
        auto r = conn.try_read();
        BOOST_TEST_REQUIRE(r.has_value(), "no answer to the long poll of " << credentials.id);
        BOOST_TEST_REQUIRE(r->result_int() == 200u, r->result_int() << " " << r->body());
        return json::parse(r->body());
    }

    AgentCredentials credentials;
    HttpClient client;
};

// Microseconds between two answers' timestamps ("…Z", six fraction digits, same day format).
long long micros_of(const std::string& t) {
    // YYYY-MM-DDTHH:MM:SS.ffffffZ: compare as numbers of the same calendar via days_from_civil.
    const int y = std::stoi(t.substr(0, 4)), m = std::stoi(t.substr(5, 2)), d = std::stoi(t.substr(8, 2));
    const int yy = y - (m <= 2);
    const int era = (yy >= 0 ? yy : yy - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(yy - era * 400);
    const unsigned doy = (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const long long days = era * 146097LL + doe - 719468;
    const long long secs = days * 86400 + std::stoi(t.substr(11, 2)) * 3600 + std::stoi(t.substr(14, 2)) * 60 +
                           std::stoi(t.substr(17, 2));
    return secs * 1'000'000 + std::stoll(t.substr(20, 6));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scheduling)

// --- what every store does ---

BOOST_AUTO_TEST_CASE(priority_and_not_before_are_shown_on_every_task_answer) {
    // A frozen clock: created_at and the now delay_seconds counts from are the same instant (and
    // every created_at is the same: the order of ties is the ids', so a is alone in its tenant).
    ServerFixture f({"--debug-frozen-clock"});
    const std::string tenant = new_uuid(), alone = new_uuid();
    const json::value a = create(f, alone, R"(,"priority":7,"not_before":"2020-01-01T01:00:00.5+01:00")");
    BOOST_TEST(a.at("priority").as_int64() == 7);
    BOOST_TEST(str(a, "not_before") == "2020-01-01T00:00:00.500000Z");
    const json::value b = create(f, tenant, R"(,"delay_seconds":60)");
    BOOST_TEST(b.at("priority").as_int64() == 5);
    BOOST_TEST(micros_of(str(b, "not_before")) - micros_of(str(b, "created_at")) == 60'000'000LL);
    const json::value c = create(f, tenant, R"(,"priority":null,"not_before":null,"delay_seconds":null)");
    BOOST_TEST(c.at("priority").as_int64() == 5);
    BOOST_TEST(c.at("not_before").is_null());

    BOOST_TEST_CONTEXT("GET /tasks/{id} and GET /tasks answer what POST did") {
        for (const auto* t : {&a, &b, &c}) BOOST_TEST(f.admin.get("/tasks/" + id_of(*t)).json() == *t);
        const json::array all = f.admin.get("/tasks").json().as_array();
        BOOST_TEST_REQUIRE(all.size() == 3u);
        for (const auto* t : {&a, &b, &c})
            BOOST_TEST(std::count(all.begin(), all.end(), *t) == 1, json::serialize(*t));
    }
    BOOST_TEST_CONTEXT("a claim and a PATCH answer them too") {
        Claimer agent(f, alone, "edge");
        const json::value claimed = agent.next();
        BOOST_TEST_REQUIRE(claimed.is_object());
        BOOST_TEST(id_of(claimed) == id_of(a));
        BOOST_TEST(claimed.at("priority").as_int64() == 7);
        BOOST_TEST(str(claimed, "not_before") == "2020-01-01T00:00:00.500000Z");  // a claim keeps it
        auto done = agent.client.patch("/tasks/" + id_of(a), R"({"status":"completed"})");
        BOOST_TEST_REQUIRE(done.status == 200u);
        BOOST_TEST(done.json().at("priority").as_int64() == 7);
        BOOST_TEST(str(done.json(), "not_before") == "2020-01-01T00:00:00.500000Z");
    }
}

BOOST_AUTO_TEST_CASE(get_tasks_filters_by_priority) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    std::vector<std::string> fives;
    const std::string nine = id_of(create(f, tenant, R"(,"priority":9)"));
    fives.push_back(id_of(create(f, tenant)));
    const std::string zero = id_of(create(f, tenant, R"(,"priority":0)"));
    fives.push_back(id_of(create(f, tenant, R"(,"priority":5)")));
    std::reverse(fives.begin(), fives.end());  // newest first

    const auto ids = [](const json::value& list) {
        std::vector<std::string> out;
        for (const auto& t : list.as_array()) out.push_back(id_of(t));
        return out;
    };
    BOOST_TEST(ids(f.admin.get("/tasks?priority=9").json()) == std::vector<std::string>{nine},
               boost::test_tools::per_element());
    BOOST_TEST(ids(f.admin.get("/tasks?priority=0&tenant_id=" + tenant).json()) == std::vector<std::string>{zero},
               boost::test_tools::per_element());
    BOOST_TEST(ids(f.admin.get("/tasks?priority=5&status=pending").json()) == fives, boost::test_tools::per_element());
    BOOST_TEST(f.admin.get("/tasks?priority=3").json().as_array().empty());

    BOOST_TEST_CONTEXT("a page's Link repeats the filter") {
        auto page = f.admin.get("/tasks?priority=5&limit=1");
        BOOST_TEST_REQUIRE(page.status == 200u);
        BOOST_TEST(ids(page.json()) == std::vector<std::string>{fives[0]}, boost::test_tools::per_element());
        const std::string link = page.header("link");
        BOOST_TEST(link.find("priority=5") != std::string::npos, link);
        const auto start = link.find('<') + 1;
        auto rest = f.admin.get(link.substr(start, link.find('>') - start));
        BOOST_TEST(ids(rest.json()) == std::vector<std::string>{fives[1]}, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(oldest_keeps_todays_order_for_tasks_without_scheduling) {
    ServerFixture f({"--shared-claim-order", "oldest"});
    const std::string a = new_uuid(), b = new_uuid();
    std::vector<std::string> created;
    for (int i = 0; i < 30; ++i) created.push_back(id_of(create(f, a)));
    for (int i = 0; i < 10; ++i) created.push_back(id_of(create(f, i % 2 ? a : b)));
    Claimer shared(f, {}, "shared");
    BOOST_TEST(shared.drain() == created, boost::test_tools::per_element());
}

// A re-queue makes a task claimable at once: its not_before is cleared (API.md "Scheduling").
BOOST_AUTO_TEST_CASE(a_requeued_delayed_task_is_claimable_at_once) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const std::string id = id_of(create(f, tenant, R"(,"not_before":"2099-01-01T00:00:00Z")"));
    Claimer agent(f, tenant, "edge");
    BOOST_TEST(agent.next_id() == "null");  // 2099 is far off
    auto cancelled = f.admin.patch("/tasks/" + id, R"({"status":"failed"})");
    BOOST_TEST_REQUIRE(cancelled.status == 200u, cancelled.body);
    BOOST_TEST(str(cancelled.json(), "not_before") == "2099-01-01T00:00:00.000000Z");  // a cancel keeps it
    auto requeued = f.admin.patch("/tasks/" + id, R"({"status":"pending"})");
    BOOST_TEST_REQUIRE(requeued.status == 200u, requeued.body);
    BOOST_TEST(requeued.json().at("not_before").is_null());
    BOOST_TEST(agent.next_id() == id);
}

// An expired lease makes a task claimable at once: a delayed task, claimed when its time came by
// A, goes to B's long poll when A's lease runs out, with not_before cleared.
BOOST_AUTO_TEST_CASE(a_delayed_task_whose_lease_expires_is_claimable_at_once) {
    ServerFixture f({"--maintenance-interval", "50ms"});
    const std::string tenant = new_uuid();
    const json::value created = create(f, tenant, R"(,"delay_seconds":1,"lease_seconds":1)");
    Claimer a(f, tenant, "a");
    const json::value first = a.wait_next(f, 10);
    BOOST_TEST_REQUIRE(first.is_object(), json::serialize(first));
    BOOST_TEST(id_of(first) == id_of(created));
    BOOST_TEST(str(first, "not_before") == str(created, "not_before"));
    BOOST_TEST(micros_of(str(first, "updated_at")) >= micros_of(str(created, "not_before")));

    Claimer b(f, tenant, "b");
    const json::value second = b.wait_next(f, 10);
    BOOST_TEST_REQUIRE(second.is_object(), json::serialize(second));
    BOOST_TEST(id_of(second) == id_of(created));
    BOOST_TEST(str(second, "agent_id") == b.credentials.id);
    BOOST_TEST(second.at("attempts").as_int64() == 2);
    BOOST_TEST(second.at("not_before").is_null());
}

// Kept across a restart: the journal's records (format 3) on the embedded store, the table on
// PostgreSQL (the same data directory finds the same database).
BOOST_AUTO_TEST_CASE(scheduling_fields_survive_a_restart) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const std::string past = id_of(create(f, tenant, R"(,"priority":8,"not_before":"2020-01-01T00:00:00Z")"));
    create(f, tenant, R"(,"priority":2,"not_before":"2099-01-01T00:00:00Z")");
    create(f, tenant, R"(,"priority":0)");
    Claimer agent(f, tenant, "edge");
    BOOST_TEST(agent.next_id() == past);  // the oldest, and the highest priority: a claim record that keeps not_before
    const std::string before = f.admin.get("/tasks").body;

    f.server.kill();
    f.server.start(f.dir.path() / "data");
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());
    BOOST_TEST(admin.get("/tasks").body == before);
}

// --- claim order, delays, fairness ---

BOOST_AUTO_TEST_CASE(claims_take_the_highest_priority_then_the_oldest) {
    ServerFixture f;
    const std::string tenant = new_uuid(), other = new_uuid();
    const int priorities[] = {5, 9, 0, 9, 5, 7, 0, 5};
    struct Made {
        int priority;
        int order;
        std::string id;
    };
    std::vector<Made> mine, all;
    for (int i = 0; i < 8; ++i) {
        mine.push_back({priorities[i], i, id_of(create(f, tenant, ",\"priority\":" + std::to_string(priorities[i])))});
        all.push_back(mine.back());
        all.push_back({priorities[7 - i], 100 + i, id_of(create(f, other, ",\"priority\":" + std::to_string(priorities[7 - i])))});
    }
    const auto expected = [](std::vector<Made> made) {
        std::stable_sort(made.begin(), made.end(), [](const Made& x, const Made& y) { return x.priority > y.priority; });
        std::vector<std::string> out;
        for (const auto& m : made) out.push_back(m.id);
        return out;
    };
    BOOST_TEST_CONTEXT("a tenant agent, its tenant's tasks") {
        Claimer agent(f, tenant, "edge");
        BOOST_TEST(agent.drain() == expected(mine), boost::test_tools::per_element());
    }
    BOOST_TEST_CONTEXT("a shared agent, across tenants, in creation order within a priority") {
        std::vector<Made> rest;
        for (const auto& m : all)
            if (m.order >= 100) rest.push_back(m);
        Claimer shared(f, {}, "shared");
        BOOST_TEST(shared.drain() == expected(rest), boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(a_delayed_task_waits_for_its_time_and_a_long_poll_gets_it) {
    // The maintenance pass (which also wakes waiters of tenants with claimable tasks) runs only
    // after the long poll's wait: what wakes it must be the delayed task's own wake-up, which the
    // debug log names (a poll that only looked again at its deadline would find the task too).
    ServerFixture f({"--maintenance-interval", "60s", "--log-level", "debug"});
    const std::string tenant = new_uuid();
    // Three seconds: far more than the two claims below take, so "before its time" holds.
    const json::value delayed = create(f, tenant, R"(,"priority":9,"delay_seconds":3)");
    const std::string plain = id_of(create(f, tenant));
    Claimer agent(f, tenant, "edge");
    BOOST_TEST(agent.next_id() == plain);  // younger and of lower priority, but claimable
    BOOST_TEST(agent.next_id() == "null");
    Claimer shared(f, {}, "shared");
    BOOST_TEST(shared.next_id() == "null");
    BOOST_TEST(str(f.admin.get("/tasks/" + id_of(delayed)).json(), "status") == "pending");

    const json::value got = agent.wait_next(f, 12);
    BOOST_TEST_REQUIRE(got.is_object(), "the long poll answered " << json::serialize(got));
    BOOST_TEST(id_of(got) == id_of(delayed));
    // Claimed (updated_at) at or after its time, by the server's clock.
    BOOST_TEST(micros_of(str(got, "updated_at")) >= micros_of(str(delayed, "not_before")));
    BOOST_TEST(f.server.log().find("long poll woken for a task of tenant " + tenant) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(fair_rotates_shared_claims_over_tenants) {
    ServerFixture f({"--shared-claim-order", "fair"});
    const std::string big = new_uuid(), late = new_uuid();
    for (int i = 0; i < 1000; ++i) create(f, big);
    std::vector<std::string> later;
    for (int i = 0; i < 10; ++i) later.push_back(id_of(create(f, late)));
    Claimer shared(f, {}, "shared");
    std::vector<std::string> late_claimed;
    for (int i = 0; i < 20; ++i) {
        const json::value t = shared.next();
        BOOST_TEST_REQUIRE(t.is_object());
        if (str(t, "tenant_id") == late) late_claimed.push_back(id_of(t));
    }
    BOOST_TEST(late_claimed == later, boost::test_tools::per_element());  // all ten, oldest first
    BOOST_TEST_CONTEXT("a tenant agent is not rotated: its own tenant's oldest") {
        Claimer own(f, big, "own");
        BOOST_TEST(own.next_id() != "null");
    }
}

// --- the embedded store's data directory ---

namespace {

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// A file header as format 2 wrote it (doc/journal_format.md, "Segments").
std::string format2_header(std::string_view magic, std::uint64_t first_sequence) {
    std::string out(magic);
    taskd::journal::Encoder e(out);
    e.u32(2);
    e.u64(first_sequence);
    const auto* data = reinterpret_cast<const std::uint8_t*>(out.data());
    put_u32(out, taskd::journal::mask_crc(taskd::journal::crc32c({data, out.size()})));
    return out;
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    BOOST_TEST_REQUIRE(out.good());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_data_directory_of_format_2_is_recovered_with_the_defaults, *utf::label("embedded")) {
    namespace journal = taskd::journal;
    TempDir dir;
    const auto data = dir.path() / "data";
    std::filesystem::create_directories(data);
    const auto tenant = taskd::model::random_uuid();
    const auto from_snapshot = taskd::model::random_uuid(), from_journal = taskd::model::random_uuid();
    const std::int64_t t0 = 1'790'000'000'000'000;
    // The snapshot holds record 1 (the task) and 2 (its end); the segment goes on with record 3.
    std::string snapshot = format2_header(journal::kSnapshotMagic, 2);
    journal::append_record(snapshot, journal::RecordType::snapshot_tasks, 1,
                           format2_snapshot_tasks(from_snapshot, tenant, R"({"old":true})", t0));
    std::string end;
    journal::Encoder e(end);
    e.u64(0);
    e.u64(1);
    journal::append_record(snapshot, journal::RecordType::snapshot_end, 2, end);
    write_file(data / journal::snapshot_name(2), snapshot);
    std::string segment = format2_header(journal::kSegmentMagic, 3);
    journal::append_record(segment, journal::RecordType::task_created, 3,
                           format2_task_created(from_journal, tenant, R"({"old":true})", t0 + 1));
    write_file(data / journal::segment_name(3), segment);

    ServerProcess server;
    server.start(data);
    HttpClient admin(server.port());
    admin.set_token(server.admin_token());
    auto check = [&](HttpClient& client) {
        const json::array all = client.get("/tasks?tenant_id=" + taskd::model::to_string(tenant)).json().as_array();
        BOOST_TEST_REQUIRE(all.size() == 2u);
        BOOST_TEST(id_of(all[0]) == taskd::model::to_string(from_journal));
        BOOST_TEST(id_of(all[1]) == taskd::model::to_string(from_snapshot));
        for (const auto& t : all) {
            BOOST_TEST(t.at("priority").as_int64() == 5);
            BOOST_TEST(t.at("not_before").is_null());
            BOOST_TEST(str(t, "status") == "pending");
        }
    };
    check(admin);

    BOOST_TEST_CONTEXT("format-3 records after them, and a restart reads both") {
        auto r = admin.post("/tasks", R"({"tenant_id":")" + taskd::model::to_string(tenant) +
                                          R"(","type":"noop","priority":1,"not_before":"2099-01-01T00:00:00Z"})");
        BOOST_TEST_REQUIRE(r.status == 201u, r.body);
        server.kill();
        server.start(data);
        HttpClient again(server.port());
        again.set_token(server.admin_token());
        auto fresh = again.get("/tasks/" + id_of(r.json()));
        BOOST_TEST(fresh.json() == r.json());
        auto old = again.get("/tasks?priority=5&tenant_id=" + taskd::model::to_string(tenant));
        BOOST_TEST(old.json().as_array().size() == 2u);
    }
}

BOOST_AUTO_TEST_SUITE_END()
