// model/transition: the transition table of API.md and the effects of each change.
#include "model/transition.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

namespace {

using namespace taskd::model;
using std::chrono::seconds;

const Uuid kHolder = *parse_uuid("11111111-1111-4111-8111-111111111111");
const Uuid kOther = *parse_uuid("22222222-2222-4222-8222-222222222222");
const Timestamp kCreated = from_micros(1'700'000'000'000'000);
const Timestamp kNow = from_micros(1'700'000'100'000'000);

enum class Who { admin, holder, other };

const char* name(Who w) { return w == Who::admin ? "admin" : w == Who::holder ? "holder" : "other agent"; }

Actor actor(Who w) {
    switch (w) {
        case Who::admin: return Actor::make_admin();
        case Who::holder: return Actor::make_agent(kHolder);
        case Who::other: return Actor::make_agent(kOther);
    }
    return {};
}

// A task in `status` that kHolder claimed at some point (so agent_id names it even when not
// running): only a running task is *held*, whatever agent_id says.
Task task_in(Status status) {
    Task t;
    t.id = *parse_uuid("33333333-3333-4333-8333-333333333333");
    t.tenant_id = *parse_uuid("44444444-4444-4444-8444-444444444444");
    t.type = "FILE_WRITE";
    t.payload = make_json_text(R"({"path":"/a","content":""})");
    t.status = status;
    t.agent_id = kHolder;
    t.created_at = t.updated_at = kCreated;
    t.attempts = 1;
    t.max_attempts = 3;
    t.lease_seconds = 60;
    if (status == Status::running) t.lease_expires_at = kCreated + seconds{60};
    if (is_final(status)) t.result = make_json_text(R"({"old":true})");
    return t;
}

bool same(const Task& a, const Task& b) {
    auto text = [](const JsonText& j) { return j ? std::optional<std::string>(*j) : std::nullopt; };
    return a.id == b.id && a.tenant_id == b.tenant_id && a.agent_id == b.agent_id && a.type == b.type &&
           text(a.payload) == text(b.payload) && a.status == b.status && text(a.result) == text(b.result) &&
           a.created_at == b.created_at && a.updated_at == b.updated_at && a.lease_expires_at == b.lease_expires_at &&
           a.attempts == b.attempts && a.max_attempts == b.max_attempts && a.lease_seconds == b.lease_seconds;
}

using Expected = std::variant<Effect, Errc>;

// API.md "PATCH /tasks/{id}": every (from, to, who) and what it must give.
Expected expected(Status from, Status to, Who who) {
    using S = Status;
    if (who == Who::other) return Errc::lease_lost;
    if (who == Who::holder) {
        if (from != S::running) return Errc::lease_lost;  // not held now: finished, re-queued, ...
        if (to == S::running) return Effect::heartbeat;
        if (is_final(to)) return Effect::finish;
        return Errc::conflict;  // running -> pending is not in the table
    }
    switch (from) {
        case S::running:
            if (to == S::running) return Effect::heartbeat;
            if (is_final(to)) return Effect::finish;
            return Errc::conflict;
        case S::pending:
            if (to == S::failed) return Effect::cancel;
            if (to == S::pending) return Effect::result_only;
            return Errc::conflict;
        case S::completed:
        case S::failed:
            if (to == S::pending) return Effect::requeue;
            if (to == from) return Effect::result_only;
            return Errc::conflict;
    }
    return Errc::conflict;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transition)

BOOST_AUTO_TEST_CASE(decide_follows_the_whole_table) {
    int rows = 0;
    for (Status from : kAllStatuses) {
        for (Status to : kAllStatuses) {
            for (Who who : {Who::admin, Who::holder, Who::other}) {
                BOOST_TEST_CONTEXT(to_string(from) << " -> " << to_string(to) << " by " << name(who)) {
                    ++rows;
                    const Task task = task_in(from);
                    const auto got = decide(task, to, actor(who));
                    const Expected want = expected(from, to, who);
                    if (const auto* effect = std::get_if<Effect>(&want)) {
                        BOOST_TEST_REQUIRE(got.has_value());
                        BOOST_TEST(static_cast<int>(*got) == static_cast<int>(*effect));
                    } else {
                        BOOST_TEST_REQUIRE(got.has_error());
                        BOOST_TEST(static_cast<int>(got.error().code) == static_cast<int>(std::get<Errc>(want)));
                        BOOST_TEST(!got.error().detail.empty());
                    }
                    // apply_patch agrees with decide, and a refusal changes nothing.
                    Task patched = task;
                    const auto applied = apply_patch(patched, Patch{to, {}}, actor(who), kNow);
                    BOOST_TEST(applied.has_value() == got.has_value());
                    if (!applied) {
                        BOOST_TEST(same(patched, task));
                        BOOST_TEST(static_cast<int>(applied.error().code) == static_cast<int>(got.error().code));
                    } else {
                        BOOST_TEST((patched.status == to));
                        BOOST_TEST((patched.updated_at == kNow));
                    }
                }
            }
        }
    }
    BOOST_TEST(rows == 48);
}

BOOST_AUTO_TEST_CASE(conflict_detail_names_both_states) {
    const auto got = decide(task_in(Status::completed), Status::running, Actor::make_admin());
    BOOST_TEST_REQUIRE(got.has_error());
    BOOST_TEST(got.error().detail.find("completed") != std::string::npos);
    BOOST_TEST(got.error().detail.find("running") != std::string::npos);
    BOOST_TEST(got.error().detail.find("33333333-3333-4333-8333-333333333333") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(patch_without_status_keeps_the_status) {
    for (Status from : kAllStatuses) {
        BOOST_TEST_CONTEXT("admin, from " << to_string(from)) {
            Task t = task_in(from);
            const auto r = apply_patch(t, Patch{std::nullopt, make_json_text(R"({"n":1})")}, Actor::make_admin(), kNow);
            BOOST_TEST_REQUIRE(r.has_value());
            BOOST_TEST((t.status == from));
            BOOST_TEST(*t.result == R"({"n":1})");
        }
    }
    Task t = task_in(Status::running);
    BOOST_TEST(apply_patch(t, Patch{}, Actor::make_agent(kHolder), kNow).has_value());
    BOOST_TEST((t.status == Status::running));
    Task u = task_in(Status::completed);
    const auto late = apply_patch(u, Patch{}, Actor::make_agent(kHolder), kNow);
    BOOST_TEST_REQUIRE(late.has_error());
    BOOST_TEST((late.error().code == Errc::lease_lost));
}

BOOST_AUTO_TEST_CASE(heartbeat_extends_the_lease_from_now) {
    for (Who who : {Who::admin, Who::holder}) {
        BOOST_TEST_CONTEXT(name(who)) {
            Task t = task_in(Status::running);
            t.result = make_json_text(R"({"progress":1})");
            BOOST_TEST_REQUIRE(apply_patch(t, Patch{Status::running, {}}, actor(who), kNow).has_value());
            BOOST_TEST((t.lease_expires_at == kNow + seconds{60}));
            BOOST_TEST((t.agent_id == kHolder));
            BOOST_TEST(t.attempts == 1u);
            BOOST_TEST(*t.result == R"({"progress":1})");  // kept when none given
            BOOST_TEST((t.updated_at == kNow));

            BOOST_TEST_REQUIRE(
                apply_patch(t, Patch{Status::running, make_json_text(R"({"progress":2})")}, actor(who), kNow + seconds{5})
                    .has_value());
            BOOST_TEST(*t.result == R"({"progress":2})");  // replaced when given
            BOOST_TEST((t.lease_expires_at == kNow + seconds{65}));
        }
    }
}

BOOST_AUTO_TEST_CASE(finish_clears_the_lease_and_keeps_the_agent) {
    for (Status to : {Status::completed, Status::failed}) {
        for (Who who : {Who::admin, Who::holder}) {
            BOOST_TEST_CONTEXT(to_string(to) << " by " << name(who)) {
                Task t = task_in(Status::running);
                BOOST_TEST_REQUIRE(apply_patch(t, Patch{to, make_json_text(R"({"ok":1})")}, actor(who), kNow).has_value());
                BOOST_TEST((t.status == to));
                BOOST_TEST(!t.lease_expires_at.has_value());
                BOOST_TEST((t.agent_id == kHolder));
                BOOST_TEST(t.attempts == 1u);
                BOOST_TEST(*t.result == R"({"ok":1})");
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(cancel_fails_a_pending_task) {
    Task t = task_in(Status::pending);
    t.agent_id.reset();
    t.attempts = 0;
    BOOST_TEST_REQUIRE(apply_patch(t, Patch{Status::failed, {}}, Actor::make_admin(), kNow).has_value());
    BOOST_TEST((t.status == Status::failed));
    BOOST_TEST(!t.lease_expires_at.has_value());
    BOOST_TEST(!t.agent_id.has_value());
    BOOST_TEST(t.attempts == 0u);
}

BOOST_AUTO_TEST_CASE(requeue_clears_agent_result_lease_and_attempts) {
    for (Status from : {Status::completed, Status::failed}) {
        BOOST_TEST_CONTEXT(to_string(from)) {
            Task t = task_in(from);
            t.attempts = 3;
            BOOST_TEST_REQUIRE(apply_patch(t, Patch{Status::pending, {}}, Actor::make_admin(), kNow).has_value());
            BOOST_TEST((t.status == Status::pending));
            BOOST_TEST(!t.agent_id.has_value());
            BOOST_TEST(!t.result);
            BOOST_TEST(!t.lease_expires_at.has_value());
            BOOST_TEST(t.attempts == 0u);
            BOOST_TEST((t.created_at == kCreated));  // keeps its queue position
            BOOST_TEST((t.updated_at == kNow));
        }
    }
}

BOOST_AUTO_TEST_CASE(result_only_changes_only_the_result) {
    for (Status s : {Status::pending, Status::completed, Status::failed}) {
        BOOST_TEST_CONTEXT(to_string(s)) {
            Task t = task_in(s);
            Task want = t;
            want.result = make_json_text(R"({"note":"x"})");
            want.updated_at = kNow;
            BOOST_TEST_REQUIRE(apply_patch(t, Patch{s, want.result}, Actor::make_admin(), kNow).has_value());
            BOOST_TEST(same(t, want));
        }
    }
}

BOOST_AUTO_TEST_CASE(claim_starts_a_lease) {
    Task t = task_in(Status::pending);
    t.agent_id.reset();
    t.attempts = 0;
    t.lease_seconds = 90;
    apply_claim(t, kOther, kNow);
    BOOST_TEST((t.status == Status::running));
    BOOST_TEST((t.agent_id == kOther));
    BOOST_TEST(t.attempts == 1u);
    BOOST_TEST((t.lease_expires_at == kNow + seconds{90}));
    BOOST_TEST((t.updated_at == kNow));
    BOOST_TEST(held_by(t, kOther));
    BOOST_TEST(!held_by(t, kHolder));

    apply_release(t, "lease expired", kNow + seconds{90});
    apply_claim(t, kHolder, kNow + seconds{100});
    BOOST_TEST(t.attempts == 2u);
    BOOST_TEST((t.agent_id == kHolder));
    BOOST_TEST((t.lease_expires_at == kNow + seconds{190}));
}

BOOST_AUTO_TEST_CASE(release_requeues_while_attempts_remain) {
    for (std::uint32_t attempts : {1u, 2u}) {
        BOOST_TEST_CONTEXT("attempts " << attempts << " of 3") {
            Task t = task_in(Status::running);
            t.attempts = attempts;
            t.result = make_json_text(R"({"progress":1})");
            apply_release(t, "lease expired", kNow);
            BOOST_TEST((t.status == Status::pending));
            BOOST_TEST(!t.agent_id.has_value());
            BOOST_TEST(!t.lease_expires_at.has_value());
            BOOST_TEST(t.attempts == attempts);
            BOOST_TEST((t.updated_at == kNow));
            BOOST_TEST((t.created_at == kCreated));
        }
    }
}

BOOST_AUTO_TEST_CASE(release_fails_when_no_attempt_is_left) {
    for (const char* reason : {"lease expired", "agent deleted"}) {
        BOOST_TEST_CONTEXT(reason) {
            Task t = task_in(Status::running);
            t.attempts = 3;
            apply_release(t, reason, kNow);
            BOOST_TEST((t.status == Status::failed));
            BOOST_TEST((t.agent_id == kHolder));  // the last holder is kept
            BOOST_TEST(!t.lease_expires_at.has_value());
            BOOST_TEST(t.attempts == 3u);
            BOOST_TEST_REQUIRE(t.result);
            BOOST_TEST(*t.result == std::string(R"({"error":")") + reason + "\"}");
            BOOST_TEST((t.updated_at == kNow));
        }
    }
    Task one = task_in(Status::running);
    one.max_attempts = 1;
    one.attempts = 1;
    apply_release(one, "lease expired", kNow);
    BOOST_TEST((one.status == Status::failed));
}

BOOST_AUTO_TEST_SUITE_END()
