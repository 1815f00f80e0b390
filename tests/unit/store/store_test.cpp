// store/store: tasks and agents in memory, claims, PATCH, agent deletion and authentication.
// Listing (filters, indices, paging) is in store_list_test.cpp.
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
using std::chrono::seconds;
using test::StoreFixture;

const Uuid kTenantA = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
const Uuid kTenantB = *model::parse_uuid("bbbbbbbb-0000-4000-8000-000000000002");

std::size_t slot(Status s) { return static_cast<std::size_t>(s); }

// Canonical text, which Boost.Test can print (and which sorts as the bytes do).
std::vector<std::string> texts(const std::vector<Uuid>& ids) {
    std::vector<std::string> out;
    for (const Uuid& id : ids) out.push_back(model::to_string(id));
    return out;
}

// Claims until nothing is left; the ids in claim order.
std::vector<std::string> claim_all(store::Store& s, const model::Agent& agent) {
    std::vector<Uuid> out;
    for (;;) {
        auto claimed = s.claim(agent);
        BOOST_TEST_REQUIRE(claimed.has_value());
        if (!claimed->value) return texts(out);
        out.push_back(claimed->value->id);
    }
}

store::TaskFilter by_status(Status s) {
    store::TaskFilter f;
    f.status = s;
    return f;
}

store::TaskFilter by_agent(const Uuid& id) {
    store::TaskFilter f;
    f.agent_id = id;
    return f;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store, StoreFixture)

BOOST_AUTO_TEST_CASE(create_then_find) {
    const auto created = create(kTenantA, "FILE_WRITE", 5, 120);
    BOOST_TEST((created.tenant_id == kTenantA));
    BOOST_TEST(created.type == "FILE_WRITE");
    BOOST_TEST(*created.payload == "{}");
    BOOST_TEST((created.status == Status::pending));
    BOOST_TEST(!created.agent_id.has_value());
    BOOST_TEST(!created.result);
    BOOST_TEST(!created.lease_expires_at.has_value());
    BOOST_TEST(created.attempts == 0u);
    BOOST_TEST(created.max_attempts == 5u);
    BOOST_TEST(created.lease_seconds == 120u);
    BOOST_TEST((created.created_at == clock.now()));
    BOOST_TEST((created.updated_at == clock.now()));

    const auto found = store.find_task(created.id);
    BOOST_TEST_REQUIRE(found.has_value());
    BOOST_TEST((found->id == created.id));
    BOOST_TEST((found->created_at == created.created_at));
    BOOST_TEST(!store.find_task(model::random_uuid()).has_value());
    BOOST_TEST(store.task_count() == 1u);
    BOOST_TEST(store.task_count_by_status()[slot(Status::pending)] == 1u);
    BOOST_TEST((create(kTenantA).id != created.id));
}

BOOST_AUTO_TEST_CASE(claims_oldest_first_per_tenant) {
    std::vector<Uuid> a, b;
    for (int i = 0; i < 4; ++i) {
        a.push_back(create(kTenantA).id);
        tick();
        b.push_back(create(kTenantB).id);
        tick();
    }
    const auto agent_a = agent(kTenantA);
    const auto agent_b = agent(kTenantB);
    const auto first_b = claim(agent_b);
    BOOST_TEST_REQUIRE(first_b.has_value());
    BOOST_TEST_REQUIRE(first_b->has_value());
    BOOST_TEST(((*first_b)->id == b[0]));
    BOOST_TEST(((*first_b)->agent_id == agent_b.id));
    BOOST_TEST((*first_b)->attempts == 1u);
    BOOST_TEST(((*first_b)->lease_expires_at == clock.now() + seconds{60}));

    const auto got_a = claim_all(store, agent_a);
    BOOST_TEST(got_a == texts(a), boost::test_tools::per_element());
    const std::vector<Uuid> rest_b(b.begin() + 1, b.end());
    BOOST_TEST(claim_all(store, agent_b) == texts(rest_b), boost::test_tools::per_element());
    BOOST_TEST(store.task_count_by_status()[slot(Status::running)] == 8u);
    BOOST_TEST(store.task_count_by_status()[slot(Status::pending)] == 0u);
}

BOOST_AUTO_TEST_CASE(tenant_agent_never_claims_another_tenant) {
    create(kTenantB);
    const auto agent_a = agent(kTenantA);
    const auto none = claim(agent_a);
    BOOST_TEST_REQUIRE(none.has_value());
    BOOST_TEST(!none->has_value());
    BOOST_TEST(store.task_count_by_status()[slot(Status::pending)] == 1u);
}

BOOST_AUTO_TEST_CASE(shared_agent_claims_oldest_across_tenants) {
    std::vector<Uuid> order;
    for (int i = 0; i < 6; ++i) {
        order.push_back(create(i % 3 == 0 ? kTenantA : kTenantB).id);
        tick(seconds{1});
    }
    const auto shared = agent(std::nullopt);
    BOOST_TEST(claim_all(store, shared) == texts(order), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ties_in_created_at_are_claimed_by_ascending_id) {
    std::vector<std::string> ids;  // canonical text sorts as the bytes do
    for (int i = 0; i < 12; ++i) ids.push_back(model::to_string(create(kTenantA).id));
    std::sort(ids.begin(), ids.end());
    BOOST_TEST(claim_all(store, agent(kTenantA)) == ids, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(requeued_task_keeps_its_queue_position) {
    const auto first = create(kTenantA);
    tick();
    const auto second = create(kTenantA);
    const auto worker = agent(kTenantA);
    BOOST_TEST_REQUIRE(claim(worker).value()->id == first.id);
    BOOST_TEST(admin_patch(first.id, Status::failed).has_value());
    BOOST_TEST(admin_patch(first.id, Status::pending).has_value());
    BOOST_TEST((claim(worker).value()->id == first.id));
    BOOST_TEST((claim(worker).value()->id == second.id));
}

BOOST_AUTO_TEST_CASE(claim_by_deleted_agent_is_unauthorized) {
    create(kTenantA);
    const auto worker = agent(kTenantA);
    BOOST_TEST(store.delete_agent(worker.id).has_value());
    const auto r = claim(worker);
    BOOST_TEST_REQUIRE(r.has_error());
    BOOST_TEST((r.error().code == Errc::unauthorized));
    BOOST_TEST(store.task_count_by_status()[slot(Status::pending)] == 1u);
}

BOOST_AUTO_TEST_CASE(patch_unknown_or_out_of_scope_is_not_found) {
    const auto t = create(kTenantA);
    const auto unknown = model::random_uuid();
    const auto r = admin_patch(unknown, Status::failed);
    BOOST_TEST_REQUIRE(r.has_error());
    BOOST_TEST((r.error().code == Errc::not_found));
    BOOST_TEST(r.error().detail == "Task " + model::to_string(unknown) + " not found");

    const auto outsider = agent(kTenantB);
    const auto hidden = patch(t.id, model::Patch{Status::completed, {}}, outsider);
    BOOST_TEST_REQUIRE(hidden.has_error());
    BOOST_TEST((hidden.error().code == Errc::not_found));
    BOOST_TEST(hidden.error().detail == "Task " + model::to_string(t.id) + " not found");
    BOOST_TEST((task(t.id).status == Status::pending));
}

BOOST_AUTO_TEST_CASE(patch_conflict_and_lease_lost) {
    const auto t = create(kTenantA);
    const auto holder = agent(kTenantA);
    const auto late = agent(kTenantA);
    const auto shared = agent(std::nullopt);

    const auto conflict = admin_patch(t.id, Status::completed);  // pending -> completed
    BOOST_TEST_REQUIRE(conflict.has_error());
    BOOST_TEST((conflict.error().code == Errc::conflict));

    BOOST_TEST_REQUIRE(claim(holder).value().has_value());
    // Agents the task does not name: it is missing to them, as a GET would say.
    for (const auto& who : {late, shared}) {
        BOOST_TEST_CONTEXT("agent " << who.name) {
            const auto lost = patch(t.id, model::Patch{Status::completed, {}}, who);
            BOOST_TEST_REQUIRE(lost.has_error());
            BOOST_TEST((lost.error().code == Errc::not_found));
        }
    }
    BOOST_TEST((task(t.id).status == Status::running));
    BOOST_TEST((task(t.id).agent_id == holder.id));

    tick(seconds{10});
    const auto beat = patch(t.id, model::Patch{std::nullopt, model::make_json_text(R"({"p":1})")}, holder);
    BOOST_TEST_REQUIRE(beat.has_value());
    BOOST_TEST((beat->lease_expires_at == clock.now() + seconds{60}));
    BOOST_TEST((beat->updated_at == clock.now()));
    BOOST_TEST(*task(t.id).result == R"({"p":1})");

    const auto done = patch(t.id, model::Patch{Status::completed, {}}, holder);
    BOOST_TEST_REQUIRE(done.has_value());
    const auto again = patch(t.id, model::Patch{Status::failed, {}}, holder);
    BOOST_TEST_REQUIRE(again.has_error());
    BOOST_TEST((again.error().code == Errc::lease_lost));
    BOOST_TEST((task(t.id).status == Status::completed));
}

BOOST_AUTO_TEST_CASE(indices_follow_status_changes) {
    std::vector<Uuid> ids;
    for (int i = 0; i < 6; ++i) {
        ids.push_back(create(kTenantA).id);
        tick();
    }
    const auto worker = agent(kTenantA);
    auto counts = [&] { return store.task_count_by_status(); };
    using Counts = std::array<std::size_t, 4>;  // pending, running, completed, failed

    BOOST_TEST((counts() == Counts{6, 0, 0, 0}));
    for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE(claim(worker).value().has_value());
    BOOST_TEST((counts() == Counts{3, 3, 0, 0}));
    BOOST_TEST(admin_patch(ids[0], Status::completed).has_value());
    BOOST_TEST(patch(ids[1], model::Patch{Status::failed, {}}, worker).has_value());
    BOOST_TEST(admin_patch(ids[5], Status::failed).has_value());  // cancel
    BOOST_TEST((counts() == Counts{2, 1, 1, 2}));
    BOOST_TEST(admin_patch(ids[1], Status::pending).has_value());  // re-queue
    BOOST_TEST((counts() == Counts{3, 1, 1, 1}));
    BOOST_TEST(admin_patch(ids[3], Status::running).has_error());  // refused: nothing moves
    BOOST_TEST(admin_patch(ids[0], Status::completed).has_value());  // result only
    BOOST_TEST((counts() == Counts{3, 1, 1, 1}));
    BOOST_TEST(store.task_count() == 6u);

    // The status index answers the same as the tasks themselves.
    for (Status s : model::kAllStatuses) {
        BOOST_TEST_CONTEXT(model::to_string(s)) {
            std::size_t listed = 0;
            store.list_tasks(by_status(s), std::nullopt, 1000, [&](const model::Task& t) {
                BOOST_TEST((t.status == s));
                ++listed;
            });
            std::size_t actual = 0;
            for (const Uuid& id : ids) actual += task(id).status == s;
            BOOST_TEST(listed == actual);
            BOOST_TEST(counts()[slot(s)] == actual);
        }
    }
    // The re-queued task left the agent's index; the finished ones stay in it.
    std::vector<Uuid> held;
    store.list_tasks(by_agent(worker.id), std::nullopt, 1000, [&](const model::Task& t) { held.push_back(t.id); });
    BOOST_TEST(texts(held) == texts({ids[2], ids[0]}), boost::test_tools::per_element());  // running, completed
}

BOOST_AUTO_TEST_CASE(delete_agent_releases_its_running_tasks) {
    const auto retry = create(kTenantA, "T", 3);
    tick();
    const auto last = create(kTenantA, "T", 1);
    tick();
    const auto finished = create(kTenantA, "T", 1);
    tick();
    const auto worker = agent(kTenantA);
    const auto other = agent(kTenantA);
    for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE(claim(worker).value().has_value());
    BOOST_TEST(patch(finished.id, model::Patch{Status::completed, {}}, worker).has_value());
    tick(seconds{5});

    BOOST_TEST_REQUIRE(store.delete_agent(worker.id).has_value());
    const auto requeued = task(retry.id);
    BOOST_TEST((requeued.status == Status::pending));
    BOOST_TEST(!requeued.agent_id.has_value());
    BOOST_TEST(!requeued.lease_expires_at.has_value());
    BOOST_TEST(requeued.attempts == 1u);
    BOOST_TEST((requeued.updated_at == clock.now()));

    const auto failed = task(last.id);
    BOOST_TEST((failed.status == Status::failed));
    BOOST_TEST((failed.agent_id == worker.id));
    BOOST_TEST(!failed.lease_expires_at.has_value());
    BOOST_TEST_REQUIRE(failed.result);
    BOOST_TEST(*failed.result == R"({"error":"agent deleted"})");

    BOOST_TEST((task(finished.id).status == Status::completed));
    BOOST_TEST(!store.find_agent(worker.id).has_value());
    BOOST_TEST((store.task_count_by_status() == std::array<std::size_t, 4>{1, 0, 1, 1}));

    const auto reclaimed = claim(other);
    BOOST_TEST_REQUIRE(reclaimed.value().has_value());
    BOOST_TEST(((*reclaimed)->id == retry.id));
    BOOST_TEST((*reclaimed)->attempts == 2u);

    const auto twice = store.delete_agent(worker.id);
    BOOST_TEST_REQUIRE(twice.has_error());
    BOOST_TEST((twice.error().code == Errc::not_found));
    BOOST_TEST((store.delete_agent(model::random_uuid()).error().code == Errc::not_found));
}

BOOST_AUTO_TEST_CASE(authenticate_by_token_hash_marks_the_agent_seen) {
    const auto a = agent(kTenantA);
    const auto b = agent(std::nullopt);
    BOOST_TEST(!a.last_seen_at.has_value());
    BOOST_TEST(!store.find_agent(a.id)->last_seen_at.has_value());
    BOOST_TEST((a.created_at == clock.now()));

    tick(seconds{3});
    const auto t1 = clock.now();
    const auto found = store.authenticate_agent(auth::hash_token("token-0"));
    BOOST_TEST_REQUIRE(found.has_value());
    BOOST_TEST((found->id == a.id));
    BOOST_TEST((found->tenant_id == kTenantA));
    BOOST_TEST((found->last_seen_at == t1));
    BOOST_TEST((store.find_agent(a.id)->last_seen_at == t1));
    BOOST_TEST(!store.find_agent(b.id)->last_seen_at.has_value());

    const auto shared = store.authenticate_agent(auth::hash_token("token-1"));
    BOOST_TEST_REQUIRE(shared.has_value());
    BOOST_TEST((shared->id == b.id));
    BOOST_TEST(!shared->tenant_id.has_value());

    tick(seconds{4});
    BOOST_TEST((store.authenticate_agent(auth::hash_token("token-0"))->last_seen_at == clock.now()));
    const auto t2 = clock.now();
    clock.set(t1);  // a request that read the clock earlier finishes later: never moves back
    BOOST_TEST((store.authenticate_agent(auth::hash_token("token-0"))->last_seen_at == t2));
    BOOST_TEST((store.find_agent(a.id)->last_seen_at == t2));

    BOOST_TEST(!store.authenticate_agent(auth::hash_token("token-9")).has_value());
    BOOST_TEST(!store.authenticate_agent(auth::hash_token("")).has_value());
    BOOST_TEST(store.delete_agent(a.id).has_value());
    BOOST_TEST(!store.authenticate_agent(auth::hash_token("token-0")).has_value());
    BOOST_TEST(store.authenticate_agent(auth::hash_token("token-1")).has_value());
}

BOOST_AUTO_TEST_CASE(list_agents_newest_first) {
    const auto first = agent(kTenantA);
    tick();
    const auto second = agent(std::nullopt);
    tick();
    const auto third = agent(kTenantB);
    const auto all = store.list_agents();
    BOOST_TEST_REQUIRE(all.size() == 3u);
    BOOST_TEST((all[0].id == third.id));
    BOOST_TEST((all[1].id == second.id));
    BOOST_TEST((all[2].id == first.id));
    BOOST_TEST(all[1].name == second.name);
}

BOOST_AUTO_TEST_SUITE_END()
