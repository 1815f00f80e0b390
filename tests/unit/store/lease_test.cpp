// store/store leases (API.md "Leases (ext)"): a claim's lease, expire_leases(), heartbeats,
// fencing of a holder whose lease ran out, the journal records of expiry and their replay,
// set_on_pending, agent deletion, and the queue place of a re-queued task. ManualClock only.
#include "../journal/journal_support.hpp"
#include "store_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using namespace taskd;
using model::Errc;
using model::Status;
using model::Uuid;
using std::chrono::microseconds;
using std::chrono::seconds;
using test::StoreFixture;

const Uuid kTenantA = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
const Uuid kTenantB = *model::parse_uuid("bbbbbbbb-0000-4000-8000-000000000002");

struct Record {
    std::string type;  // journal::to_string(RecordType): printable
    journal::Change change;
};

// Every record the log holds, parsed and decoded.
std::vector<Record> records_of(const journal::MemoryLog& log) {
    std::vector<Record> out;
    for (const std::string& framed : test::split_records(log.records())) {
        journal::RecordView r;
        BOOST_TEST_REQUIRE((journal::parse_record(test::bytes_of(framed), r) == journal::ParseResult::ok));
        auto change = journal::decode_change(r.type, r.payload);
        BOOST_TEST_REQUIRE(change.has_value());
        out.push_back({std::string(journal::to_string(r.type)), std::move(*change)});
    }
    return out;
}

// The ids (text) of the task_lease_expired records from the `from`-th record on.
std::vector<std::string> expired_ids(const journal::MemoryLog& log, std::size_t from = 0) {
    std::vector<std::string> out;
    const auto all = records_of(log);
    for (std::size_t i = from; i < all.size(); ++i) {
        if (all[i].type != journal::to_string(journal::RecordType::task_lease_expired)) continue;
        const auto* changed = std::get_if<journal::TaskChanged>(&all[i].change);
        BOOST_TEST_REQUIRE(changed != nullptr);
        out.push_back(model::to_string(changed->state.id));
    }
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// A fresh store with every record of `log` replayed into it must show what `live` shows.
void expect_replay_equal(const journal::MemoryLog& log, const store::Store& live) {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    journal::MemoryLog replica_log;
    store::Store replica{clock, replica_log};
    test::replay_into(replica, log.records());
    BOOST_TEST(test::dump(replica) == test::dump(live), boost::test_tools::per_element());
}

struct LeaseFixture : StoreFixture {
    std::vector<std::string> pending_tenants;  // on_pending's calls, in order
    LeaseFixture() {
        store.set_on_pending([this](const Uuid& t) { pending_tenants.push_back(model::to_string(t)); });
    }
    Uuid claimed_id(const model::Agent& who) {
        auto r = claim(who);
        BOOST_TEST_REQUIRE(r.has_value());
        BOOST_TEST_REQUIRE(r->has_value());
        return (*r)->id;
    }
    bool nothing_to_claim(const model::Agent& who) {
        auto r = claim(who);
        return r.has_value() && !r->has_value();
    }
    std::size_t expire() { return store.expire_leases().value; }
    std::size_t record_count() const { return records_of(log).size(); }
};

// Creates A, B, C; the tenant's agent claims A and B; A's lease expires (B's too, with
// expire_both). The next claims (by the shared agent, or the tenant's) return A (B), then C.
void expired_task_regains_its_place(LeaseFixture& f, bool shared_claims_next, bool expire_both) {
    const auto a = f.create(kTenantA, "T", 3, 10);
    f.tick();
    const auto b = f.create(kTenantA, "T", 3, expire_both ? 10 : 60);
    f.tick();
    const auto c = f.create(kTenantA, "T", 3, 60);
    const auto worker = f.agent(kTenantA);
    const auto shared = f.agent(std::nullopt);
    BOOST_TEST_REQUIRE((f.claimed_id(worker) == a.id));
    BOOST_TEST_REQUIRE((f.claimed_id(worker) == b.id));
    f.tick(seconds{11});
    BOOST_TEST_REQUIRE(f.expire() == (expire_both ? 2u : 1u));
    const auto& next = shared_claims_next ? shared : worker;
    BOOST_TEST((f.claimed_id(next) == a.id));
    if (expire_both) BOOST_TEST((f.claimed_id(next) == b.id));
    BOOST_TEST((f.claimed_id(next) == c.id));
    BOOST_TEST(f.nothing_to_claim(next));
    BOOST_TEST(f.nothing_to_claim(shared_claims_next ? worker : shared));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(leases, LeaseFixture)

BOOST_AUTO_TEST_CASE(claim_sets_lease_from_now) {
    const auto t = create(kTenantA, "T", 3, 30);
    tick(seconds{7});
    const auto claimed = claim(agent(kTenantA));
    BOOST_TEST_REQUIRE(claimed.value().has_value());
    BOOST_TEST(((*claimed)->lease_expires_at == clock.now() + seconds{30}));
    BOOST_TEST((task(t.id).lease_expires_at == clock.now() + seconds{30}));
    BOOST_TEST(task(t.id).attempts == 1u);
}

BOOST_AUTO_TEST_CASE(expire_before_the_deadline_does_nothing) {
    const auto t = create(kTenantA, "T", 3, 30);
    const auto worker = agent(kTenantA);
    BOOST_TEST_REQUIRE((claimed_id(worker) == t.id));
    const auto before = task(t.id);
    const auto records = record_count();
    tick(seconds{30} - microseconds{1});
    const auto none = store.expire_leases();
    BOOST_TEST(none.value == 0u);
    BOOST_TEST(none.sequence == 0u);
    BOOST_TEST(test::describe(task(t.id)) == test::describe(before));
    BOOST_TEST(record_count() == records);
    tick();  // exactly at the deadline: ended
    BOOST_TEST(expire() == 1u);
    BOOST_TEST((task(t.id).status == Status::pending));
}

BOOST_AUTO_TEST_CASE(expired_task_is_pending_again_and_claimed_by_another) {
    const auto t = create(kTenantA, "T", 3, 30);
    const auto first = agent(kTenantA);
    const auto second = agent(std::nullopt);
    BOOST_TEST_REQUIRE((claimed_id(first) == t.id));
    const auto running = task(t.id);
    tick(seconds{31});
    const auto expired = store.expire_leases();
    BOOST_TEST(expired.value == 1u);
    BOOST_TEST(expired.sequence == log.last_sequence());

    const auto after = task(t.id);
    BOOST_TEST((after.status == Status::pending));
    BOOST_TEST(!after.agent_id.has_value());
    BOOST_TEST(!after.lease_expires_at.has_value());
    BOOST_TEST(!after.result);
    BOOST_TEST(after.attempts == 1u);
    BOOST_TEST(after.version == running.version + 1);
    BOOST_TEST((after.updated_at == clock.now()));
    BOOST_TEST((store.task_count_by_status() == std::array<std::size_t, 4>{1, 0, 0, 0}));

    tick(seconds{2});
    const auto again = claim(second);
    BOOST_TEST_REQUIRE(again.value().has_value());
    BOOST_TEST(((*again)->id == t.id));
    BOOST_TEST(((*again)->agent_id == second.id));
    BOOST_TEST((*again)->attempts == 2u);
    BOOST_TEST(((*again)->lease_expires_at == clock.now() + seconds{30}));
    BOOST_TEST(expire() == 0u);  // the first claim's lease entry is stale now
}

BOOST_AUTO_TEST_CASE(last_attempt_expired_fails_and_keeps_agent) {
    const auto t = create(kTenantA, "T", 2, 30);
    const auto worker = agent(kTenantA);
    BOOST_TEST_REQUIRE((claimed_id(worker) == t.id));
    tick(seconds{30});
    BOOST_TEST(expire() == 1u);
    BOOST_TEST_REQUIRE((claimed_id(worker) == t.id));  // attempt 2 of 2
    tick(seconds{30});
    pending_tenants.clear();
    BOOST_TEST(expire() == 1u);

    const auto failed = task(t.id);
    BOOST_TEST((failed.status == Status::failed));
    BOOST_TEST((failed.agent_id == worker.id));
    BOOST_TEST(!failed.lease_expires_at.has_value());
    BOOST_TEST_REQUIRE(failed.result);
    BOOST_TEST(*failed.result == R"({"error":"lease expired"})");
    BOOST_TEST(failed.attempts == 2u);
    BOOST_TEST(pending_tenants.empty());  // failed: not claimable, nobody to wake
    BOOST_TEST(nothing_to_claim(worker));
    BOOST_TEST((store.task_count_by_status() == std::array<std::size_t, 4>{0, 0, 0, 1}));
    tick(seconds{100});
    BOOST_TEST(expire() == 0u);
}

// The task now names the fresh holder: to the stale one it is missing, as to any other agent
// (a stale holder the task still names gets lease_lost: patch_after_deadline_before_expiry_pass_...).
BOOST_AUTO_TEST_CASE(stale_holder_patch_after_a_new_claim_is_not_found) {
    const auto t = create(kTenantA, "T", 3, 30);
    const auto stale = agent(kTenantA);
    const auto fresh = agent(kTenantA);
    BOOST_TEST_REQUIRE((claimed_id(stale) == t.id));
    tick(seconds{31});
    BOOST_TEST(expire() == 1u);
    BOOST_TEST_REQUIRE((claimed_id(fresh) == t.id));
    const auto held = task(t.id);
    const auto records = record_count();

    for (const auto& p : {model::Patch{Status::completed, model::make_json_text(R"({"late":true})")},
                          model::Patch{std::nullopt, {}}, model::Patch{Status::failed, {}}}) {
        const auto lost = patch(t.id, p, stale);
        BOOST_TEST_REQUIRE(lost.has_error());
        BOOST_TEST((lost.error().code == Errc::not_found));
    }
    BOOST_TEST(test::describe(task(t.id)) == test::describe(held));
    BOOST_TEST(record_count() == records);

    const auto done = patch(t.id, model::Patch{Status::completed, {}}, fresh);
    BOOST_TEST_REQUIRE(done.has_value());
    BOOST_TEST((done->agent_id == fresh.id));
}

BOOST_AUTO_TEST_CASE(heartbeat_extends_the_lease) {
    for (const std::optional<Status> to : {std::optional<Status>{}, std::optional<Status>{Status::running}}) {
        BOOST_TEST_CONTEXT("status " << (to ? "running" : "omitted")) {
            const auto t = create(kTenantA, "T", 1, 60);
            const auto worker = agent(kTenantA);
            BOOST_TEST_REQUIRE((claimed_id(worker) == t.id));
            const auto first_deadline = *task(t.id).lease_expires_at;
            tick(seconds{40});
            const auto beat = patch(t.id, model::Patch{to, {}}, worker);
            BOOST_TEST_REQUIRE(beat.has_value());
            BOOST_TEST(((beat->lease_expires_at == clock.now() + seconds{60})));
            BOOST_TEST(((task(t.id).lease_expires_at == first_deadline + seconds{40})));

            clock.set(first_deadline);  // the old deadline no longer counts
            BOOST_TEST(expire() == 0u);
            BOOST_TEST((task(t.id).status == Status::running));
            tick(seconds{40} - microseconds{1});
            BOOST_TEST(expire() == 0u);
            tick();
            BOOST_TEST(expire() == 1u);
            BOOST_TEST((task(t.id).status == Status::failed));  // max_attempts 1
            tick(seconds{1});
        }
    }
}

BOOST_AUTO_TEST_CASE(patch_after_deadline_before_expiry_pass_releases_at_once) {
    const auto t = create(kTenantA, "T", 3, 30);
    tick();
    const auto last = create(kTenantB, "T", 1, 30);
    const auto holder = agent(std::nullopt);
    const auto other = agent(std::nullopt);
    BOOST_TEST_REQUIRE((claimed_id(holder) == t.id));
    BOOST_TEST_REQUIRE((claimed_id(holder) == last.id));
    tick(seconds{30});  // at the deadline; expire_leases() has not run
    pending_tenants.clear();
    const auto records = record_count();

    const auto lost = patch(t.id, model::Patch{Status::completed, {}}, holder);
    BOOST_TEST_REQUIRE(lost.has_error());
    BOOST_TEST((lost.error().code == Errc::lease_lost));
    const auto released = task(t.id);
    BOOST_TEST((released.status == Status::pending));
    BOOST_TEST(!released.agent_id.has_value());
    BOOST_TEST(!released.lease_expires_at.has_value());
    BOOST_TEST(released.attempts == 1u);
    BOOST_TEST(!released.result);
    BOOST_TEST(pending_tenants == std::vector<std::string>{model::to_string(kTenantA)},
               boost::test_tools::per_element());
    BOOST_TEST(record_count() == records + 1);
    BOOST_TEST(expired_ids(log, records) == std::vector<std::string>{model::to_string(t.id)},
               boost::test_tools::per_element());

    // A heartbeat that comes too late is refused the same way; on its last attempt it fails.
    const auto late_beat = patch(last.id, model::Patch{std::nullopt, {}}, holder);
    BOOST_TEST_REQUIRE(late_beat.has_error());
    BOOST_TEST((late_beat.error().code == Errc::lease_lost));
    BOOST_TEST((task(last.id).status == Status::failed));
    BOOST_TEST(*task(last.id).result == R"({"error":"lease expired"})");
    BOOST_TEST((task(last.id).agent_id == holder.id));
    BOOST_TEST(pending_tenants.size() == 1u);

    const auto again = claim(other);
    BOOST_TEST_REQUIRE(again.value().has_value());
    BOOST_TEST(((*again)->id == t.id));
    BOOST_TEST((*again)->attempts == 2u);
    BOOST_TEST(expire() == 0u);  // both lease entries are stale
    expect_replay_equal(log, store);
}

BOOST_AUTO_TEST_CASE(expiry_writes_one_record_per_task_and_replays) {
    std::vector<model::Task> tasks;
    for (int i = 0; i < 5; ++i) {
        tasks.push_back(create(i % 2 ? kTenantB : kTenantA, "T", i == 0 ? 1 : 3, 30));
        tick();
    }
    const auto shared = agent(std::nullopt);
    for (int i = 0; i < 4; ++i) BOOST_TEST_REQUIRE((claimed_id(shared) == tasks[i].id));
    tick(seconds{10});
    BOOST_TEST_REQUIRE(patch(tasks[3].id, model::Patch{std::nullopt, {}}, shared).has_value());  // heartbeat
    tick(seconds{25});
    const auto before = record_count();
    const auto expired = store.expire_leases();
    BOOST_TEST(expired.value == 3u);
    BOOST_TEST(expired.sequence == log.last_sequence());
    BOOST_TEST(record_count() == before + 3);
    BOOST_TEST(sorted(expired_ids(log, before)) ==
                   sorted({model::to_string(tasks[0].id), model::to_string(tasks[1].id), model::to_string(tasks[2].id)}),
               boost::test_tools::per_element());
    BOOST_TEST((task(tasks[0].id).status == Status::failed));
    BOOST_TEST((store.task_count_by_status() == std::array<std::size_t, 4>{3, 1, 0, 1}));
    expect_replay_equal(log, store);

    tick(seconds{10});
    const auto second = record_count();
    BOOST_TEST(expire() == 1u);
    BOOST_TEST(expired_ids(log, second) == std::vector<std::string>{model::to_string(tasks[3].id)},
               boost::test_tools::per_element());
    expect_replay_equal(log, store);
    BOOST_TEST(expired_ids(log).size() == 4u);
}

BOOST_AUTO_TEST_CASE(on_pending_for_requeue_not_for_failure) {
    create(kTenantA, "T", 3, 30);
    create(kTenantB, "T", 1, 30);
    BOOST_TEST(pending_tenants.size() == 2u);  // the creates
    const auto shared = agent(std::nullopt);
    claimed_id(shared);
    claimed_id(shared);
    pending_tenants.clear();
    tick(seconds{30});
    BOOST_TEST(expire() == 2u);
    BOOST_TEST(pending_tenants == std::vector<std::string>{model::to_string(kTenantA)},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(deleting_an_agent_requeues_and_notifies) {
    const auto a = create(kTenantA, "T", 3, 60);
    tick();
    const auto b = create(kTenantB, "T", 3, 60);
    tick();
    const auto done = create(kTenantB, "T", 3, 60);
    const auto doomed = agent(std::nullopt);
    const auto other = agent(std::nullopt);
    for (int i = 0; i < 3; ++i) claimed_id(doomed);
    BOOST_TEST_REQUIRE(patch(done.id, model::Patch{Status::completed, {}}, doomed).has_value());
    tick(seconds{10});
    pending_tenants.clear();

    const auto deleted = store.delete_agent(doomed.id);
    BOOST_TEST_REQUIRE(deleted.has_value());
    BOOST_TEST(deleted->value == 2u);
    BOOST_TEST(sorted(pending_tenants) == sorted({model::to_string(kTenantA), model::to_string(kTenantB)}),
               boost::test_tools::per_element());
    for (const auto& id : {a.id, b.id}) {
        BOOST_TEST((task(id).status == Status::pending));
        BOOST_TEST(!task(id).agent_id.has_value());
        BOOST_TEST(!task(id).lease_expires_at.has_value());
    }
    BOOST_TEST((task(done.id).status == Status::completed));

    std::vector<Uuid> got{claimed_id(other), claimed_id(other)};
    BOOST_TEST((got == std::vector<Uuid>{a.id, b.id}));
    BOOST_TEST(task(a.id).attempts == 2u);
    tick(seconds{50});  // the deleted agent's deadline: its lease entries are stale
    BOOST_TEST(expire() == 0u);
    BOOST_TEST((task(a.id).agent_id == other.id));
    expect_replay_equal(log, store);
}

BOOST_AUTO_TEST_CASE(deleting_an_agent_fails_a_last_attempt_without_notifying) {
    const auto last = create(kTenantA, "T", 1, 60);
    const auto doomed = agent(kTenantA);
    BOOST_TEST_REQUIRE((claimed_id(doomed) == last.id));
    pending_tenants.clear();
    const auto deleted = store.delete_agent(doomed.id);
    BOOST_TEST_REQUIRE(deleted.has_value());
    BOOST_TEST(deleted->value == 1u);
    BOOST_TEST(pending_tenants.empty());
    const auto failed = task(last.id);
    BOOST_TEST((failed.status == Status::failed));
    BOOST_TEST((failed.agent_id == doomed.id));
    BOOST_TEST(!failed.lease_expires_at.has_value());
    BOOST_TEST(*failed.result == R"({"error":"agent deleted"})");
    tick(seconds{60});
    BOOST_TEST(expire() == 0u);
    expect_replay_equal(log, store);
}

BOOST_AUTO_TEST_CASE(requeued_in_place_tenant_agent) { expired_task_regains_its_place(*this, false, false); }
BOOST_AUTO_TEST_CASE(requeued_in_place_shared_agent) { expired_task_regains_its_place(*this, true, false); }
BOOST_AUTO_TEST_CASE(two_requeued_in_place_tenant_agent) { expired_task_regains_its_place(*this, false, true); }
BOOST_AUTO_TEST_CASE(two_requeued_in_place_shared_agent) { expired_task_regains_its_place(*this, true, true); }

BOOST_AUTO_TEST_SUITE_END()
