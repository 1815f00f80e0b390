// API.md "PATCH /tasks/{id}": the transition table, every (from, to, who), allowed or refused,
// and the effect of each allowed row; a late agent; what a claim sets; defaults; time format.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <regex>
#include <string>

using namespace taskd::test;
namespace json = boost::json;
using Micros = std::chrono::sys_time<std::chrono::microseconds>;

namespace {

enum class Effect { refused, heartbeat, finish, cancel, requeue, result_only };

const char* effect_name(Effect e) {
    switch (e) {
        case Effect::refused: return "409";
        case Effect::heartbeat: return "heartbeat";
        case Effect::finish: return "finish";
        case Effect::cancel: return "cancel";
        case Effect::requeue: return "requeue";
        case Effect::result_only: return "result only";
    }
    return "?";
}

// API.md's table: the allowed rows. Every other (from, to, who) is 409.
struct AllowedRow {
    const char* from;
    const char* to;
    bool holder_may;  // "holder, admin"; otherwise the admin only
    Effect effect;
};
const AllowedRow kAllowed[] = {
    {"running", "running", true, Effect::heartbeat},
    {"running", "completed", true, Effect::finish},
    {"running", "failed", true, Effect::finish},
    {"pending", "failed", false, Effect::cancel},
    {"completed", "pending", false, Effect::requeue},
    {"failed", "pending", false, Effect::requeue},
    {"pending", "pending", false, Effect::result_only},
    {"completed", "completed", false, Effect::result_only},
    {"failed", "failed", false, Effect::result_only},
};

enum class Who { admin, holder, peer, shared };
constexpr std::array kWho{Who::admin, Who::holder, Who::peer, Who::shared};
const char* who_name(Who w) {
    switch (w) {
        case Who::admin: return "admin";
        case Who::holder: return "holding agent";
        case Who::peer: return "non-holding agent of the tenant";
        case Who::shared: return "non-holding shared agent";
    }
    return "?";
}

constexpr std::array<const char*, 4> kStatuses{"pending", "running", "completed", "failed"};

// `to` empty: a PATCH without status, which is the transition from -> from.
Effect expected_effect(const std::string& from, const std::string& to, Who who) {
    const std::string target = to.empty() ? from : to;
    for (const AllowedRow& row : kAllowed)
        if (row.from == from && row.to == target && (who == Who::admin || (who == Who::holder && row.holder_may)))
            return row.effect;
    return Effect::refused;
}

bool is_timestamp(const json::value& v) {
    static const std::regex kFormat(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
    return v.is_string() && std::regex_match(std::string(v.get_string()), kFormat);
}

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (the only form API.md allows) to microseconds since the epoch.
std::optional<Micros> parse_time(const json::value& v) {
    using namespace std::chrono;
    if (!is_timestamp(v)) return std::nullopt;
    const std::string s(v.get_string());
    const auto num = [&](std::size_t at, std::size_t len) { return std::stoi(s.substr(at, len)); };
    const year_month_day ymd{year{num(0, 4)}, month{static_cast<unsigned>(num(5, 2))},
                             day{static_cast<unsigned>(num(8, 2))}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd} + hours{num(11, 2)} + minutes{num(14, 2)} + seconds{num(17, 2)} + microseconds{num(20, 6)};
}

// Microseconds from `a` to `b`, both timestamps of a task.
std::int64_t micros_between(const json::value& a, const json::value& b) {
    const auto ta = parse_time(a);
    const auto tb = parse_time(b);
    BOOST_TEST_REQUIRE(ta.has_value());
    BOOST_TEST_REQUIRE(tb.has_value());
    return (*tb - *ta).count();
}

constexpr std::int64_t kMicrosPerSecond = 1'000'000;

// {"detail": "<text>"}, the body API.md gives every non-validation error.
bool has_string_detail(const HttpResponse& r) {
    boost::system::error_code ec;
    const json::value v = json::parse(r.body, ec);
    return !ec && v.is_object() && v.as_object().contains("detail") && v.at("detail").is_string();
}

std::string id_of(const json::value& v) { return std::string(v.at("id").as_string()); }

json::value claim(HttpClient& client, const AgentCredentials& agent) {
    auto r = client.get("/tasks/next?agent_id=" + agent.id);
    BOOST_TEST_REQUIRE(r.status == 200u);
    return r.json();
}

json::value get_task(ServerFixture& f, const std::string& id) {
    auto r = f.admin.get("/tasks/" + id);
    BOOST_TEST_REQUIRE(r.status == 200u);
    return r.json();
}

// Checks what an allowed PATCH did: `before` and `after` the task, `result` what it sent (or null).
void check_effect(Effect effect, const std::string& to, const json::value& before, const json::value& after,
                  const json::value& result) {
    for (const char* unchanged : {"id", "tenant_id", "type", "payload", "created_at", "max_attempts", "lease_seconds"})
        BOOST_TEST_CONTEXT("field " << unchanged) { BOOST_TEST(after.at(unchanged) == before.at(unchanged)); }
    BOOST_TEST(micros_between(before.at("updated_at"), after.at("updated_at")) >= 0);
    const json::value& sent_or_kept = result.is_null() ? before.at("result") : result;
    switch (effect) {
        case Effect::heartbeat:
            BOOST_TEST(after.at("status").as_string() == "running");
            BOOST_TEST(after.at("agent_id") == before.at("agent_id"));
            BOOST_TEST(after.at("attempts") == before.at("attempts"));
            BOOST_TEST(micros_between(before.at("lease_expires_at"), after.at("lease_expires_at")) >= 0);
            BOOST_TEST(micros_between(after.at("updated_at"), after.at("lease_expires_at")) ==
                       after.at("lease_seconds").as_int64() * kMicrosPerSecond);
            BOOST_TEST(after.at("result") == sent_or_kept);
            break;
        case Effect::finish:
            BOOST_TEST(after.at("status").as_string() == to);
            BOOST_TEST(after.at("lease_expires_at").is_null());
            BOOST_TEST(after.at("agent_id").is_string());
            BOOST_TEST(after.at("agent_id") == before.at("agent_id"));
            BOOST_TEST(after.at("attempts") == before.at("attempts"));
            BOOST_TEST(after.at("result") == sent_or_kept);
            break;
        case Effect::cancel:
            BOOST_TEST(after.at("status").as_string() == "failed");
            BOOST_TEST(after.at("lease_expires_at").is_null());
            BOOST_TEST(after.at("agent_id").is_null());
            BOOST_TEST(after.at("attempts") == before.at("attempts"));
            BOOST_TEST(after.at("result") == sent_or_kept);
            break;
        case Effect::requeue:
            BOOST_TEST(after.at("status").as_string() == "pending");
            BOOST_TEST(after.at("agent_id").is_null());
            BOOST_TEST(after.at("result").is_null());
            BOOST_TEST(after.at("lease_expires_at").is_null());
            BOOST_TEST(after.at("attempts").as_int64() == 0);
            break;
        case Effect::result_only:
            BOOST_TEST(after.at("status") == before.at("status"));
            for (const char* kept : {"agent_id", "lease_expires_at", "attempts"})
                BOOST_TEST_CONTEXT("field " << kept) { BOOST_TEST(after.at(kept) == before.at(kept)); }
            BOOST_TEST(after.at("result") == sent_or_kept);
            break;
        case Effect::refused: BOOST_FAIL("not an effect"); break;
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transitions)

BOOST_AUTO_TEST_CASE(transition_table_every_pair_every_caller) {
    ServerFixture f;
    const AgentCredentials shared = f.register_agent({}, "shared");
    HttpClient shared_client = f.client_with_token(shared.token);
    int row_number = 0;
    for (const char* from : kStatuses) {
        for (const std::string to : {"pending", "running", "completed", "failed", ""}) {
            for (const Who who : kWho) {
                ++row_number;
                // A task of a fresh tenant in state `from`, claimed (if ever) by `holder`.
                const std::string tenant = new_uuid();
                const AgentCredentials holder = f.register_agent(tenant, "holder");
                const AgentCredentials peer = f.register_agent(tenant, "peer");
                HttpClient holder_client = f.client_with_token(holder.token);
                const std::string id = id_of(f.create_task(tenant));
                if (std::string(from) != "pending") BOOST_TEST_REQUIRE(id_of(claim(holder_client, holder)) == id);
                if (std::string(from) == "completed" || std::string(from) == "failed")
                    BOOST_TEST_REQUIRE(holder_client.patch("/tasks/" + id, R"({"status":")" + std::string(from) +
                                                                               R"(","result":{"by":"holder"}})")
                                           .status == 200u);
                const json::value before = get_task(f, id);

                const Effect effect = expected_effect(from, to, who);
                // A re-queue clears the result: it is sent without one. Every other row sends one.
                const json::value result = effect == Effect::requeue
                                               ? json::value(nullptr)
                                               : json::value{{"row", row_number}};
                json::object body;
                if (!to.empty()) body["status"] = to;
                if (!result.is_null()) body["result"] = result;

                HttpClient admin_client = f.client_with_token(f.server.admin_token());
                HttpClient peer_client = f.client_with_token(peer.token);
                HttpClient* client = who == Who::admin    ? &admin_client
                                     : who == Who::holder ? &holder_client
                                     : who == Who::peer   ? &peer_client
                                                          : &shared_client;
                BOOST_TEST_CONTEXT(from << " -> " << (to.empty() ? "(no status)" : to) << " by " << who_name(who)
                                        << ", expected " << effect_name(effect)) {
                    auto r = client->patch("/tasks/" + id, json::serialize(body));
                    const json::value after = get_task(f, id);
                    if (effect == Effect::refused) {
                        // An agent the task does not name learns nothing of it: 404 as for a
                        // missing task (README "Isolation"); the admin and the named agent 409.
                        const bool named = who == Who::admin || (before.at("agent_id").is_string() &&
                                                                 before.at("agent_id").as_string() == holder.id &&
                                                                 who == Who::holder);
                        BOOST_TEST(r.status == (named ? 409u : 404u));
                        BOOST_TEST(has_string_detail(r));
                        BOOST_TEST(after == before);
                        continue;
                    }
                    BOOST_TEST(r.status == 200u);
                    if (r.status != 200u) continue;  // report every row, not just the first wrong one
                    BOOST_TEST(r.json() == after);
                    check_effect(effect, to, before, after, result);
                    if (effect == Effect::requeue) {
                        const json::value again = claim(holder_client, holder);
                        BOOST_TEST_REQUIRE(again.is_object());
                        BOOST_TEST(id_of(again) == id);
                        BOOST_TEST(again.at("attempts").as_int64() == 1);
                        BOOST_TEST(again.at("agent_id").as_string() == holder.id);
                    }
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(patch_without_result_keeps_the_result) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials agent = f.register_agent(tenant);
    HttpClient client = f.client_with_token(agent.token);
    const std::string id = id_of(f.create_task(tenant));
    BOOST_TEST_REQUIRE(id_of(claim(client, agent)) == id);

    auto first = client.patch("/tasks/" + id, R"({"status":"running","result":{"step":1}})");
    BOOST_TEST_REQUIRE(first.status == 200u);
    auto second = client.patch("/tasks/" + id, R"({"status":"running"})");
    BOOST_TEST_REQUIRE(second.status == 200u);
    BOOST_TEST(second.json().at("result") == json::parse(R"({"step":1})"));
    BOOST_TEST(micros_between(first.json().at("lease_expires_at"), second.json().at("lease_expires_at")) >= 0);
    auto replaced = client.patch("/tasks/" + id, R"({"result":{"step":2}})");
    BOOST_TEST_REQUIRE(replaced.status == 200u);
    BOOST_TEST(replaced.json().at("result") == json::parse(R"({"step":2})"));
    BOOST_TEST(replaced.json().at("status").as_string() == "running");

    BOOST_TEST_REQUIRE(client.patch("/tasks/" + id, R"({"status":"completed","result":{"done":true}})").status == 200u);
    const json::value done = get_task(f, id);
    for (const char* body : {"{}", R"({"status":"completed"})", R"({"status":null,"result":null})"}) {
        BOOST_TEST_CONTEXT("admin PATCH " << body) {
            auto r = f.admin.patch("/tasks/" + id, body);
            BOOST_TEST(r.status == 200u);
            json::value now = get_task(f, id);
            BOOST_TEST(now.at("result") == done.at("result"));
            BOOST_TEST(now.at("status").as_string() == "completed");
            BOOST_TEST(now.at("agent_id") == done.at("agent_id"));
        }
    }
}

BOOST_AUTO_TEST_CASE(late_agent_cannot_overwrite_the_new_holder) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials late = f.register_agent(tenant, "late");
    const AgentCredentials next = f.register_agent(tenant, "next");
    HttpClient late_client = f.client_with_token(late.token);
    HttpClient next_client = f.client_with_token(next.token);
    const std::string id = id_of(f.create_task(tenant));
    BOOST_TEST_REQUIRE(id_of(claim(late_client, late)) == id);
    BOOST_TEST_REQUIRE(late_client.patch("/tasks/" + id, R"({"result":{"by":"late"}})").status == 200u);

    // The admin gives up on the late agent: fails the task, then re-queues it.
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + id, R"({"status":"failed"})").status == 200u);
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + id, R"({"status":"pending"})").status == 200u);
    const char* late_patches[] = {
        R"({"status":"completed","result":{"by":"late"}})",
        R"({"status":"failed","result":{"by":"late"}})",
        R"({"status":"running","result":{"by":"late"}})",
        R"({"result":{"by":"late"}})",
    };
    // Once the task no longer names the late agent, it is missing to it: 404 for GET and PATCH
    // alike, with the detail a missing id gets (README "Isolation").
    BOOST_TEST_CONTEXT("re-queued, not yet claimed") {
        const json::value pending = get_task(f, id);
        BOOST_TEST(late_client.get("/tasks/" + id).status == 404u);  // its agent_id is no longer the late agent
        for (const char* body : late_patches) {
            BOOST_TEST_CONTEXT(body) {
                BOOST_TEST(late_client.patch("/tasks/" + id, body).status == 404u);
                BOOST_TEST(get_task(f, id) == pending);
            }
        }
    }
    const json::value claimed = claim(next_client, next);
    BOOST_TEST_REQUIRE(claimed.is_object());
    BOOST_TEST_REQUIRE(id_of(claimed) == id);
    BOOST_TEST(claimed.at("agent_id").as_string() == next.id);
    BOOST_TEST(claimed.at("attempts").as_int64() == 1);
    BOOST_TEST_CONTEXT("claimed by another agent") {
        BOOST_TEST(late_client.get("/tasks/" + id).status == 404u);
        BOOST_TEST(next_client.get("/tasks/" + id).status == 200u);
        for (const char* body : late_patches) {
            BOOST_TEST_CONTEXT(body) {
                BOOST_TEST(late_client.patch("/tasks/" + id, body).status == 404u);
                BOOST_TEST(get_task(f, id) == claimed);
            }
        }
    }
    BOOST_TEST_REQUIRE(next_client.patch("/tasks/" + id, R"({"status":"completed","result":{"by":"next"}})").status ==
                       200u);
    const json::value finished = get_task(f, id);
    BOOST_TEST_CONTEXT("finished by the new holder") {
        for (const char* body : late_patches) {
            BOOST_TEST_CONTEXT(body) {
                BOOST_TEST(late_client.patch("/tasks/" + id, body).status == 404u);
                BOOST_TEST(get_task(f, id) == finished);
            }
        }
    }
    BOOST_TEST(finished.at("result") == json::parse(R"({"by":"next"})"));
    BOOST_TEST(finished.at("agent_id").as_string() == next.id);
}

BOOST_AUTO_TEST_CASE(shared_agent_holds_like_a_tenant_agent) {
    ServerFixture f;
    const AgentCredentials shared = f.register_agent({}, "shared");
    const AgentCredentials tenant_agent = f.register_agent(new_uuid(), "other tenant");
    HttpClient client = f.client_with_token(shared.token);
    HttpClient stranger = f.client_with_token(tenant_agent.token);
    const std::string id = id_of(f.create_task(new_uuid()));
    BOOST_TEST_REQUIRE(id_of(claim(client, shared)) == id);

    const json::value before = get_task(f, id);
    auto beat = client.patch("/tasks/" + id, R"({"status":"running","result":{"step":1}})");
    BOOST_TEST_REQUIRE(beat.status == 200u);
    check_effect(Effect::heartbeat, "running", before, beat.json(), json::parse(R"({"step":1})"));
    // A tenant agent of another tenant does not see the task at all.
    BOOST_TEST(stranger.patch("/tasks/" + id, R"({"status":"failed"})").status == 404u);
    BOOST_TEST(client.patch("/tasks/" + id, R"({"status":"pending"})").status == 409u);
    auto done = client.patch("/tasks/" + id, R"({"status":"completed","result":{"ok":true}})");
    BOOST_TEST_REQUIRE(done.status == 200u);
    check_effect(Effect::finish, "completed", beat.json(), done.json(), json::parse(R"({"ok":true})"));
    BOOST_TEST(client.patch("/tasks/" + id, R"({"status":"completed"})").status == 409u);
}

BOOST_AUTO_TEST_CASE(claim_sets_holder_attempts_and_lease) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials agent = f.register_agent(tenant);
    HttpClient client = f.client_with_token(agent.token);
    auto created = f.admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"noop","lease_seconds":60})");
    BOOST_TEST_REQUIRE(created.status == 201u);
    const json::value before = created.json();
    BOOST_TEST(before.at("lease_expires_at").is_null());

    const json::value t = claim(client, agent);
    BOOST_TEST_REQUIRE(t.is_object());
    BOOST_TEST(id_of(t) == id_of(before));
    BOOST_TEST(t.at("status").as_string() == "running");
    BOOST_TEST(t.at("agent_id").as_string() == agent.id);
    BOOST_TEST(t.at("attempts").as_int64() == before.at("attempts").as_int64() + 1);
    BOOST_TEST(t.at("created_at") == before.at("created_at"));
    BOOST_TEST(micros_between(before.at("created_at"), t.at("updated_at")) >= 0);
    BOOST_TEST(micros_between(t.at("updated_at"), t.at("lease_expires_at")) == 60 * kMicrosPerSecond);
    BOOST_TEST(get_task(f, id_of(t)) == t);

    // A second claim after a re-queue counts from zero again; a finish/re-queue cycle keeps it so.
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + id_of(t), R"({"status":"failed"})").status == 200u);
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + id_of(t), R"({"status":"pending"})").status == 200u);
    const json::value again = claim(client, agent);
    BOOST_TEST_REQUIRE(again.is_object());
    BOOST_TEST(again.at("attempts").as_int64() == 1);
    BOOST_TEST(micros_between(again.at("updated_at"), again.at("lease_expires_at")) == 60 * kMicrosPerSecond);
}

BOOST_AUTO_TEST_CASE(max_attempts_and_lease_seconds_defaults_and_custom_values) {
    struct Case {
        const char* what;
        std::vector<std::string> server_args;
        const char* extra_fields;
        std::int64_t max_attempts;
        std::int64_t lease_seconds;
    };
    const Case cases[] = {
        {"defaults", {}, "", 3, 300},
        {"null means the default", {}, R"(,"max_attempts":null,"lease_seconds":null)", 3, 300},
        {"custom values", {}, R"(,"max_attempts":7,"lease_seconds":60)", 7, 60},
        {"bounds", {}, R"(,"max_attempts":100,"lease_seconds":86400)", 100, 86400},
        {"server default --lease-seconds 120", {"--lease-seconds", "120"}, "", 3, 120},
        {"task value beats the server default", {"--lease-seconds", "120"}, R"(,"lease_seconds":1)", 3, 1},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
            ServerFixture f(c.server_args);
            const std::string tenant = new_uuid();
            auto r = f.admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"noop")" +
                                                std::string(c.extra_fields) + "}");
            BOOST_TEST_REQUIRE(r.status == 201u);
            BOOST_TEST(r.json().at("max_attempts").as_int64() == c.max_attempts);
            BOOST_TEST(r.json().at("lease_seconds").as_int64() == c.lease_seconds);
            const AgentCredentials agent = f.register_agent(tenant);
            HttpClient client = f.client_with_token(agent.token);
            const json::value t = claim(client, agent);
            BOOST_TEST_REQUIRE(t.is_object());
            BOOST_TEST(micros_between(t.at("updated_at"), t.at("lease_expires_at")) ==
                       c.lease_seconds * kMicrosPerSecond);
        }
    }
}

BOOST_AUTO_TEST_CASE(timestamps_have_six_fraction_digits_and_z) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials agent = f.register_agent(tenant);
    HttpClient client = f.client_with_token(agent.token);
    const json::value created = f.create_task(tenant);
    const json::value claimed = claim(client, agent);
    const json::value seen = f.admin.get("/agents/" + agent.id).json();
    const std::pair<const char*, json::value> stamps[] = {
        {"task created_at", created.at("created_at")},
        {"task updated_at", created.at("updated_at")},
        {"claimed task updated_at", claimed.at("updated_at")},
        {"claimed task lease_expires_at", claimed.at("lease_expires_at")},
        {"agent created_at", seen.at("created_at")},
        {"agent last_seen_at", seen.at("last_seen_at")},
    };
    for (const auto& [what, value] : stamps)
        BOOST_TEST_CONTEXT(what << ": " << value) { BOOST_TEST(is_timestamp(value)); }
    // The regular expression itself refuses the forms API.md rules out.
    for (const char* bad : {"2026-11-24T22:09:03Z", "2026-11-24T22:09:03.123456+00:00", "2026-11-24T22:09:03.12345Z",
                            "2026-11-24 22:09:03.123456Z"})
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!is_timestamp(json::value(bad))); }
}

BOOST_AUTO_TEST_SUITE_END()
