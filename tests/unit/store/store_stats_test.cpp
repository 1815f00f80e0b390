// store/store: Store::stats(), what GET /stats and the console show — counts by status, per
// tenant, agents seen, and the create/claim/completion totals kept as changes happen.
#include "store_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

namespace {

using namespace taskd;
using model::Status;
using model::Uuid;
using std::chrono::seconds;
using test::StoreFixture;

const Uuid kTenantA = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
const Uuid kTenantB = *model::parse_uuid("bbbbbbbb-0000-4000-8000-000000000002");
const Uuid kTenantC = *model::parse_uuid("cccccccc-0000-4000-8000-000000000003");

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store_stats, StoreFixture)

BOOST_AUTO_TEST_CASE(empty_store) {
    const auto s = store.stats(seconds(60));
    BOOST_TEST((s.by_status == std::array<std::size_t, 4>{0, 0, 0, 0}));
    BOOST_TEST(s.tenants.empty());
    BOOST_TEST(s.agents == 0u);
    BOOST_TEST(s.agents_seen == 0u);
    BOOST_TEST(s.creates == 0u);
    BOOST_TEST(s.claims == 0u);
    BOOST_TEST(s.completions == 0u);
}

BOOST_AUTO_TEST_CASE(counts_follow_every_change) {
    std::vector<Uuid> a, b;
    for (int i = 0; i < 5; ++i) {
        a.push_back(create(kTenantA).id);
        tick();
    }
    for (int i = 0; i < 3; ++i) {
        b.push_back(create(kTenantB).id);
        tick();
    }
    const auto worker_a = agent(kTenantA);
    const auto worker_b = agent(kTenantB);
    for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE(claim(worker_a).value().has_value());  // a0..a2 running
    BOOST_TEST_REQUIRE(claim(worker_b).value().has_value());                              // b0 running
    BOOST_TEST(patch(a[0], model::Patch{Status::completed, {}}, worker_a).has_value());
    BOOST_TEST(patch(a[1], model::Patch{Status::failed, {}}, worker_a).has_value());
    BOOST_TEST(admin_patch(b[0], Status::completed).has_value());
    BOOST_TEST(admin_patch(b[0], Status::completed).has_value());  // result only: not a second completion
    BOOST_TEST(admin_patch(b[2], Status::failed).has_value());     // cancel
    BOOST_TEST(admin_patch(a[1], Status::pending).has_value());    // re-queue
    BOOST_TEST(admin_patch(a[3], Status::running).has_error());    // refused: nothing moves

    const auto s = store.stats(seconds(60));
    // a: a1 a3 a4 pending, a2 running, a0 completed; b: b1 pending, b0 completed, b2 failed.
    BOOST_TEST((s.by_status == std::array<std::size_t, 4>{4, 1, 2, 1}));
    BOOST_TEST((s.by_status == store.task_count_by_status()));
    BOOST_TEST_REQUIRE(s.tenants.size() == 2u);
    BOOST_TEST(model::to_string(s.tenants[0].tenant_id) == model::to_string(kTenantA));
    BOOST_TEST(s.tenants[0].pending == 3u);
    BOOST_TEST(s.tenants[0].running == 1u);
    BOOST_TEST(s.tenants[0].failed == 0u);
    BOOST_TEST(model::to_string(s.tenants[1].tenant_id) == model::to_string(kTenantB));
    BOOST_TEST(s.tenants[1].pending == 1u);
    BOOST_TEST(s.tenants[1].running == 0u);
    BOOST_TEST(s.tenants[1].failed == 1u);
    BOOST_TEST(s.creates == 8u);
    BOOST_TEST(s.claims == 4u);
    BOOST_TEST(s.completions == 2u);
    BOOST_TEST(s.agents == 2u);
}

BOOST_AUTO_TEST_CASE(idempotent_repeat_is_not_a_create) {
    store::NewTask n;
    n.tenant_id = kTenantA;
    n.type = "T";
    n.payload = model::make_json_text("{}");
    n.idempotency_key = "k1";
    BOOST_TEST_REQUIRE(store.create_task(n).has_value());
    auto again = store.create_task(n);
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(again->value.repeat);
    BOOST_TEST(store.stats(seconds(60)).creates == 1u);
}

BOOST_AUTO_TEST_CASE(a_tenant_whose_tasks_were_dropped_is_not_listed) {
    const auto t = create(kTenantC).id;
    BOOST_TEST(admin_patch(t, Status::failed).has_value());
    BOOST_TEST(store.stats(seconds(60)).tenants.size() == 1u);
    tick(seconds(10));
    BOOST_TEST(store.purge_finished(clock.now(), 100).value == 1u);
    BOOST_TEST(store.stats(seconds(60)).tenants.empty());
}

BOOST_AUTO_TEST_CASE(agents_seen_since) {
    const auto never = agent(kTenantA);  // registered, never authenticated
    const auto old = agent(kTenantA);
    const auto recent = agent(std::nullopt);
    BOOST_TEST(store.authenticate_agent(auth::hash_token("token-1")).has_value());
    tick(seconds(90));
    BOOST_TEST(store.authenticate_agent(auth::hash_token("token-2")).has_value());
    const auto s = store.stats(seconds(60));
    BOOST_TEST(s.agents == 3u);
    BOOST_TEST(s.agents_seen == 1u);  // `recent` only
    BOOST_TEST((s.now == clock.now()));
    BOOST_TEST(store.stats(seconds(120)).agents_seen == 2u);
    (void)never;
    (void)old;
    (void)recent;
}

BOOST_AUTO_TEST_SUITE_END()
