// Idempotency-Key of POST /tasks (API.md): store::Store::create_task with NewTask::
// idempotency_key, the body digest (bodies decoded as api/codec's decode_new_task does), the 24 h
// window, purge, other tenants, journal replay, and is_valid_idempotency_key.
#include "../journal/journal_support.hpp"
#include "api/codec.hpp"
#include "store/idempotency.hpp"
#include "store_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <string>
#include <vector>

namespace {

using namespace taskd;
using model::Errc;
using model::Status;
using model::Uuid;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::seconds;
using store::body_digest;
using store::is_valid_idempotency_key;

const Uuid kTenantA = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
const Uuid kTenantB = *model::parse_uuid("bbbbbbbb-0000-4000-8000-000000000002");

// {"tenant_id": "<tenant>", <rest>}
std::string body(const Uuid& tenant, const std::string& rest) {
    return R"({"tenant_id":")" + model::to_string(tenant) + "\"" + (rest.empty() ? "" : "," + rest) + "}";
}

// The NewTask the handler would build from `text` (no validation errors allowed).
store::NewTask decoded(const std::string& text, std::optional<std::string> key) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(text, ec);
    BOOST_TEST_REQUIRE(!ec, text);
    model::FieldErrors errors;
    store::NewTask task = api::decode_new_task(value, api::ApiConfig{}, model::Timestamp{}, errors);
    BOOST_TEST_REQUIRE(errors.empty(), text);
    task.idempotency_key = std::move(key);
    return task;
}

const std::string kWrite = R"("type":"FILE_WRITE","payload":{"path":"/etc/app.json","content":"{}","mode":"0644"})";

struct IdempotencyFixture : test::StoreFixture {
    model::Result<store::Logged<store::Created>> post(const std::string& text, std::optional<std::string> key,
                                                         store::Store* into = nullptr) {
        return (into ? *into : store).create_task(decoded(text, std::move(key)));
    }
    // A create that must succeed; its task and whether it was a repeat.
    store::Created posted(const std::string& text, std::optional<std::string> key, store::Store* into = nullptr) {
        auto r = post(text, std::move(key), into);
        BOOST_TEST_REQUIRE(r.has_value(), text);
        return r->value;
    }
    void finish(const Uuid& id) {
        BOOST_TEST_REQUIRE(admin_patch(id, Status::failed).has_value());  // cancel
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(idempotency, IdempotencyFixture)

BOOST_AUTO_TEST_CASE(repeat_returns_the_first_task_as_it_is_now) {
    const std::string first_body = body(kTenantA, kWrite);
    const auto first = post(first_body, "key-1");
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(!first->value.repeat);
    BOOST_TEST(first->sequence == log.last_sequence());
    const Uuid id = first->value.task.id;
    const auto records = log.last_sequence();

    const auto again = post(first_body, "key-1");
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(again->value.repeat);
    BOOST_TEST((again->value.task.id == id));
    BOOST_TEST(again->sequence == first->sequence);  // a repeat waits for the create's record
    BOOST_TEST(store.task_count() == 1u);
    BOOST_TEST(log.last_sequence() == records);

    tick(seconds{5});
    const auto worker = agent(kTenantA);
    BOOST_TEST_REQUIRE(claim(worker).value().has_value());
    const auto now_running = posted(first_body, "key-1");
    BOOST_TEST(now_running.repeat);
    BOOST_TEST((now_running.task.id == id));
    BOOST_TEST((now_running.task.status == Status::running));
    BOOST_TEST((now_running.task.agent_id == worker.id));
    BOOST_TEST(now_running.task.attempts == 1u);
    BOOST_TEST(test::describe(now_running.task) == test::describe(task(id)));

    BOOST_TEST_REQUIRE(
        patch(id, model::Patch{Status::completed, model::make_json_text(R"({"ok":1})")}, worker).has_value());
    const auto finished = posted(first_body, "key-1");
    BOOST_TEST(finished.repeat);
    BOOST_TEST((finished.task.status == Status::completed));
    BOOST_TEST(*finished.task.result == R"({"ok":1})");
    BOOST_TEST(store.task_count() == 1u);

    // Without a key every create is new.
    BOOST_TEST(!posted(first_body, std::nullopt).repeat);
    BOOST_TEST(!posted(first_body, std::nullopt).repeat);
    BOOST_TEST(store.task_count() == 3u);
}

BOOST_AUTO_TEST_CASE(same_body_spelled_differently_is_a_repeat) {
    const Uuid id = posted(body(kTenantA, kWrite), "k").task.id;
    const std::string tenant_upper = [] {
        std::string s = model::to_string(kTenantA);
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
    }();
    const std::vector<std::string> same = {
        body(kTenantA, R"("payload":{"mode":"0644","content":"{}","path":"/etc/app.json"},"type":"FILE_WRITE")"),
        R"({ "type" : "FILE_WRITE", "payload" : { "content" : "{}", "path" : "/etc/app.json", "mode" : "0644" },
             "tenant_id" : ")" + model::to_string(kTenantA) + "\" }",
        body(kTenantA, kWrite + R"(,"max_attempts":3,"lease_seconds":300)"),
        body(kTenantA, kWrite + R"(,"max_attempts":null,"lease_seconds":null)"),
        body(kTenantA, kWrite + R"(,"unknown_field":[1,2,3])"),
        R"({"tenant_id":")" + tenant_upper + "\"," + kWrite + "}",
    };
    for (const auto& text : same) {
        BOOST_TEST_CONTEXT(text) {
            const auto r = posted(text, "k");
            BOOST_TEST(r.repeat);
            BOOST_TEST((r.task.id == id));
        }
    }

    // An omitted payload is {}; nested objects are compared by value too.
    const Uuid legacy = posted(body(kTenantA, R"("type":"provision_server")"), "legacy").task.id;
    const auto explicit_empty = posted(body(kTenantA, R"("type":"provision_server","payload":{})"), "legacy");
    BOOST_TEST(explicit_empty.repeat);
    BOOST_TEST((explicit_empty.task.id == legacy));
    const Uuid nested =
        posted(body(kTenantA, R"("type":"x","payload":{"b":{"y":[{"q":1,"p":2}],"x":null},"a":"s"})"), "nested").task.id;
    const auto reordered = posted(body(kTenantA, R"("payload":{"a":"s","b":{"x":null,"y":[{"p":2,"q":1}]}},"type":"x")"),
                                  "nested");
    BOOST_TEST(reordered.repeat);
    BOOST_TEST((reordered.task.id == nested));
    BOOST_TEST(store.task_count() == 3u);
}

BOOST_AUTO_TEST_CASE(body_digest_canonicalises_the_payload_only_and_counts_a_priority) {
    const auto base = body_digest(kTenantA, "x", R"({"b":1,"a":[{"d":1,"c":2}]})", 3, 300, 5);
    BOOST_TEST((base == body_digest(kTenantA, "x", R"( { "a" : [ {"c":2, "d":1} ], "b" : 1 } )", 3, 300, 5)));
    BOOST_TEST((base != body_digest(kTenantA, "x", R"({"b":1,"a":[{"c":2},{"d":1}]})", 3, 300, 5)));  // array order counts
    BOOST_TEST((base != body_digest(kTenantB, "x", R"({"b":1,"a":[{"d":1,"c":2}]})", 3, 300, 5)));
    BOOST_TEST((base != body_digest(kTenantA, "y", R"({"b":1,"a":[{"d":1,"c":2}]})", 3, 300, 5)));
    BOOST_TEST((base != body_digest(kTenantA, "x", R"({"b":1,"a":[{"d":1,"c":2}]})", 4, 300, 5)));
    BOOST_TEST((base != body_digest(kTenantA, "x", R"({"b":1,"a":[{"d":1,"c":2}]})", 3, 301, 5)));
    BOOST_TEST((base != body_digest(kTenantA, "x", R"({"b":2,"a":[{"d":1,"c":2}]})", 3, 300, 5)));
    // Fields do not run into each other: ("x", 31, 300) is not ("x", 3, 1300).
    BOOST_TEST((body_digest(kTenantA, "x", "{}", 31, 300, 5) != body_digest(kTenantA, "x", "{}", 3, 1300, 5)));
    // A priority other than the default makes another body; the default is what an omitted one
    // reads as, and leaves the digest as it was before issue 23 (PostgreSQL stores digests): the
    // SHA-256 of "aaaaaaaa-0000-4000-8000-000000000001\nx\n{\"a\":1}\n3\n300".
    BOOST_TEST((base != body_digest(kTenantA, "x", R"({"b":1,"a":[{"d":1,"c":2}]})", 3, 300, 7)));
    BOOST_TEST((body_digest(kTenantA, "x", "{}", 3, 300, 7) != body_digest(kTenantA, "x", "{}", 3, 300, 8)));
    const auto unscheduled = body_digest(kTenantA, "x", R"({"a":1})", 3, 300, 5);
    std::string hex;
    for (const std::uint8_t byte : unscheduled) {
        hex += "0123456789abcdef"[byte >> 4];
        hex += "0123456789abcdef"[byte & 15];
    }
    BOOST_TEST(hex == "2f153dc41b0522f3baab669104e1d1972be73bc8bc26351f58e593fb12889e23");
}

BOOST_AUTO_TEST_CASE(different_body_is_a_validation_error) {
    const auto first = posted(body(kTenantA, kWrite), "k");
    const auto records = log.last_sequence();
    const std::vector<std::string> others = {
        body(kTenantA, R"("type":"FILE_WRITE","payload":{"path":"/etc/app.json","content":"{ }","mode":"0644"})"),
        body(kTenantA, R"("type":"FILE_WRITE","payload":{"path":"/etc/app.json","content":"{}"})"),
        body(kTenantA, R"("type":"OTHER","payload":{"path":"/etc/app.json","content":"{}","mode":"0644"})"),
        body(kTenantA, kWrite + R"(,"max_attempts":4)"),
        body(kTenantA, kWrite + R"(,"lease_seconds":60)"),
    };
    for (const auto& text : others) {
        BOOST_TEST_CONTEXT(text) {
            const auto r = post(text, "k");
            BOOST_TEST_REQUIRE(r.has_error());
            BOOST_TEST((r.error().code == Errc::validation));
            BOOST_TEST_REQUIRE(r.error().fields.size() == 1u);
            BOOST_TEST((r.error().fields[0].loc == model::Loc{"header", "Idempotency-Key"}));
            BOOST_TEST(!r.error().fields[0].msg.empty());
            BOOST_TEST(!r.error().fields[0].type.empty());
        }
    }
    BOOST_TEST(store.task_count() == 1u);
    BOOST_TEST(log.last_sequence() == records);
    BOOST_TEST(posted(body(kTenantA, kWrite), "k").repeat);  // the first body still repeats
    BOOST_TEST((posted(body(kTenantA, kWrite), "k").task.id == first.task.id));
}

BOOST_AUTO_TEST_CASE(same_key_for_another_tenant_is_a_new_task) {
    const auto a = posted(body(kTenantA, R"("type":"x")"), "shared-key");
    const auto b = posted(body(kTenantB, R"("type":"x")"), "shared-key");
    BOOST_TEST(!b.repeat);
    BOOST_TEST((b.task.id != a.task.id));
    BOOST_TEST((b.task.tenant_id == kTenantB));
    const auto b_other = post(body(kTenantB, R"("type":"y")"), "shared-key");  // B's key, B's body
    BOOST_TEST_REQUIRE(b_other.has_error());
    BOOST_TEST((b_other.error().code == Errc::validation));
    BOOST_TEST((posted(body(kTenantA, R"("type":"x")"), "shared-key").task.id == a.task.id));
    BOOST_TEST((posted(body(kTenantB, R"("type":"x")"), "shared-key").task.id == b.task.id));
    BOOST_TEST(!posted(body(kTenantA, R"("type":"x")"), "other-key").repeat);
    BOOST_TEST(store.task_count() == 3u);
}

BOOST_AUTO_TEST_CASE(key_is_forgotten_after_24_hours) {
    const auto first = posted(body(kTenantA, R"("type":"x")"), "k");
    tick(hours{24} - microseconds{1});
    BOOST_TEST(posted(body(kTenantA, R"("type":"x")"), "k").repeat);
    tick();  // 24 h since the create
    const auto second = posted(body(kTenantA, R"("type":"x")"), "k");
    BOOST_TEST(!second.repeat);
    BOOST_TEST((second.task.id != first.task.id));
    const auto repeat = posted(body(kTenantA, R"("type":"x")"), "k");
    BOOST_TEST(repeat.repeat);
    BOOST_TEST((repeat.task.id == second.task.id));

    tick(hours{25});  // forgotten: another body is welcome too
    const auto third = posted(body(kTenantA, R"("type":"y")"), "k");
    BOOST_TEST(!third.repeat);
    BOOST_TEST(store.task_count() == 3u);
}

BOOST_AUTO_TEST_CASE(purge_of_the_task_forgets_its_key) {
    const auto first = posted(body(kTenantA, R"("type":"x")"), "k");
    const auto kept = posted(body(kTenantA, R"("type":"x")"), "kept");
    finish(first.task.id);
    tick(hours{1});
    BOOST_TEST_REQUIRE(store.purge_finished(clock.now(), 100).value == 1u);
    BOOST_TEST(!store.find_task(first.task.id).has_value());

    const auto after = posted(body(kTenantA, R"("type":"x")"), "k");
    BOOST_TEST(!after.repeat);
    BOOST_TEST((after.task.id != first.task.id));
    BOOST_TEST(!posted(body(kTenantA, R"("type":"other")"), "other-after-purge").repeat);
    const auto still = posted(body(kTenantA, R"("type":"x")"), "kept");  // a pending task's key stays
    BOOST_TEST(still.repeat);
    BOOST_TEST((still.task.id == kept.task.id));
}

BOOST_AUTO_TEST_CASE(purge_of_an_old_task_keeps_a_newer_task_with_the_same_key) {
    // The key was used, forgotten after 24 h, and used again; the first task is purged later.
    const auto old_task = posted(body(kTenantA, R"("type":"x")"), "k");
    finish(old_task.task.id);
    tick(hours{25});
    const auto new_task = posted(body(kTenantA, R"("type":"x")"), "k");
    BOOST_TEST_REQUIRE(!new_task.repeat);
    tick(seconds{1});
    BOOST_TEST_REQUIRE(store.purge_finished(clock.now(), 100).value == 1u);  // the old one only
    BOOST_TEST_REQUIRE(store.find_task(new_task.task.id).has_value());

    const auto again = posted(body(kTenantA, R"("type":"x")"), "k");
    BOOST_TEST(again.repeat);  // within 24 h of the second create
    BOOST_TEST((again.task.id == new_task.task.id));
    BOOST_TEST(store.task_count() == 1u);
}

BOOST_AUTO_TEST_CASE(valid_key_boundaries) {
    BOOST_TEST(!is_valid_idempotency_key(""));
    BOOST_TEST(is_valid_idempotency_key("a"));
    BOOST_TEST(is_valid_idempotency_key(std::string(255, 'k')));
    BOOST_TEST(!is_valid_idempotency_key(std::string(256, 'k')));
    BOOST_TEST(is_valid_idempotency_key("!~0123456789abcdefABCDEF-_.:/{}\"'"));
    BOOST_TEST(is_valid_idempotency_key("550e8400-e29b-41d4-a716-446655440000"));
    BOOST_TEST(!is_valid_idempotency_key("two words"));
    BOOST_TEST(!is_valid_idempotency_key(" lead"));
    BOOST_TEST(!is_valid_idempotency_key("trail "));
    BOOST_TEST(!is_valid_idempotency_key("tab\there"));
    BOOST_TEST(!is_valid_idempotency_key("line\n"));
    BOOST_TEST(!is_valid_idempotency_key(std::string("nul\0x", 5)));
    BOOST_TEST(!is_valid_idempotency_key("del\x7f"));
    BOOST_TEST(!is_valid_idempotency_key("caf\xc3\xa9"));  // UTF-8 é
    BOOST_TEST(!is_valid_idempotency_key("\xff"));
    BOOST_TEST(!is_valid_idempotency_key(std::string(254, 'k') + "\xc3\xa9"));  // 256 bytes, 255 characters
}

BOOST_AUTO_TEST_CASE(replay_keeps_the_keys) {
    const auto a = posted(body(kTenantA, kWrite), "key-a");
    tick();
    const auto b = posted(body(kTenantB, R"("type":"x")"), "key-b");
    tick();
    const auto gone = posted(body(kTenantA, R"("type":"gone")"), "key-gone");
    posted(body(kTenantA, R"("type":"nokey")"), std::nullopt);
    const auto worker = agent(kTenantA);
    BOOST_TEST_REQUIRE((claim(worker).value()->id == a.task.id));
    finish(gone.task.id);
    tick(hours{1});
    BOOST_TEST_REQUIRE(store.purge_finished(clock.now(), 100).value == 1u);

    model::ManualClock replica_clock{clock.now()};
    journal::MemoryLog replica_log;
    store::Store replica{replica_clock, replica_log};
    test::replay_into(replica, log.records());
    BOOST_TEST(test::dump(replica) == test::dump(store), boost::test_tools::per_element());

    const auto repeat_a = posted(body(kTenantA, kWrite), "key-a", &replica);
    BOOST_TEST(repeat_a.repeat);
    BOOST_TEST((repeat_a.task.id == a.task.id));
    BOOST_TEST((repeat_a.task.status == Status::running));
    BOOST_TEST(posted(body(kTenantB, R"("type":"x")"), "key-b", &replica).repeat);
    const auto differs = post(body(kTenantA, R"("type":"x")"), "key-a", &replica);
    BOOST_TEST_REQUIRE(differs.has_error());
    BOOST_TEST((differs.error().code == Errc::validation));
    BOOST_TEST(replica.task_count() == 3u);
    BOOST_TEST(!posted(body(kTenantA, R"("type":"gone")"), "key-gone", &replica).repeat);  // purged with its task
    BOOST_TEST(replica.task_count() == 4u);

    // The window counts from the create, on the replica too.
    replica_clock.advance(hours{22});  // 23 h after the create
    BOOST_TEST(posted(body(kTenantB, R"("type":"x")"), "key-b", &replica).repeat);
    replica_clock.advance(hours{1});
    BOOST_TEST(!posted(body(kTenantB, R"("type":"x")"), "key-b", &replica).repeat);
    BOOST_TEST((b.task.tenant_id == kTenantB));
}

BOOST_AUTO_TEST_CASE(snapshot_keeps_the_keys) {
    const auto a = posted(body(kTenantA, kWrite), "key-a");
    tick();
    posted(body(kTenantA, R"("type":"nokey")"), std::nullopt);
    const auto data = store.capture([](std::uint64_t) {});
    BOOST_TEST_REQUIRE(data.task_count == 2u);

    model::ManualClock replica_clock{clock.now()};
    journal::MemoryLog replica_log;
    store::Store replica{replica_clock, replica_log};
    for (std::size_t i = 0; i < data.task_count; ++i) {
        model::Task task;
        std::optional<std::string> key;
        data.read_task(i, task, key);
        const std::string payload = journal::encode_snapshot_task(task, key);
        auto change = journal::decode_change(journal::RecordType::snapshot_task, test::bytes_of(payload));
        BOOST_TEST_REQUIRE(change.has_value());
        replica.apply(std::move(*change));
    }
    BOOST_TEST(test::dump(replica) == test::dump(store), boost::test_tools::per_element());
    const auto repeat = posted(body(kTenantA, kWrite), "key-a", &replica);
    BOOST_TEST(repeat.repeat);
    BOOST_TEST((repeat.task.id == a.task.id));
    const auto differs = post(body(kTenantA, R"("type":"x")"), "key-a", &replica);
    BOOST_TEST_REQUIRE(differs.has_error());
    BOOST_TEST((differs.error().code == Errc::validation));
    BOOST_TEST(replica.task_count() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
