// store/store scheduling (issue 23): priorities, delayed tasks (not_before), and the fair order
// for shared agents. ManualClock only: a delayed task's time is reached by advancing the clock.
#include "store_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

using namespace taskd;
using model::Status;
using std::chrono::seconds;

const model::Uuid kTenantA = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
const model::Uuid kTenantB = *model::parse_uuid("bbbbbbbb-0000-4000-8000-000000000002");

struct ScheduleFixture : test::StoreFixture {
    std::vector<model::Uuid> woken;  // tenants, as set_on_pending is told them
    std::vector<model::Timestamp> delayed;

    ScheduleFixture() {
        store.set_on_pending([this](const model::Uuid& t) { woken.push_back(t); });
        store.set_on_delayed([this](model::Timestamp at) { delayed.push_back(at); });
    }

    model::Task create_scheduled(const model::Uuid& tenant, std::uint8_t priority,
                                 std::optional<model::Timestamp> not_before = std::nullopt) {
        store::NewTask n;
        n.tenant_id = tenant;
        n.type = "T";
        n.payload = model::make_json_text("{}");
        n.schedule.priority = priority;
        n.schedule.set_not_before(not_before);
        return store.create_task(std::move(n)).value().value.task;
    }

    // Claims until nothing is left; the ids in claim order.
    std::vector<std::string> claim_all(const model::Agent& agent) {
        std::vector<std::string> out;
        while (auto claimed = claim(agent).value()) out.push_back(model::to_string(claimed->id));
        return out;
    }
};

std::string text(const model::Task& t) { return model::to_string(t.id); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store_schedule, ScheduleFixture)

BOOST_AUTO_TEST_CASE(higher_priority_first_then_oldest) {
    const auto a = agent(kTenantA), shared = agent(std::nullopt);
    std::vector<model::Task> t;
    for (std::uint8_t p : {5, 9, 5, 0, 9, 7}) {
        t.push_back(create_scheduled(kTenantA, p));
        tick();
    }
    BOOST_TEST(t[1].schedule.priority == 9);
    const std::vector<std::string> expected{text(t[1]), text(t[4]), text(t[5]), text(t[0]), text(t[2]), text(t[3])};
    BOOST_TEST(claim_all(a) == expected, boost::test_tools::per_element());

    // The shared queues keep the same order, across tenants.
    std::vector<model::Task> u;
    for (std::uint8_t p : {1, 8, 1, 8}) {
        u.push_back(create_scheduled(p % 2 ? kTenantA : kTenantB, p));
        tick();
    }
    const std::vector<std::string> across{text(u[1]), text(u[3]), text(u[0]), text(u[2])};
    BOOST_TEST(claim_all(shared) == across, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_delayed_task_is_claimable_from_its_time_on_and_wakes_its_tenant) {
    const auto a = agent(kTenantA);
    const auto at = clock.now() + seconds{10};
    const model::Task task = create_scheduled(kTenantA, 5, at);
    BOOST_TEST((task.schedule.not_before == at));
    BOOST_TEST((store.find_task(task.id)->schedule.not_before == at));
    BOOST_TEST(woken.empty());  // nothing to claim yet: no poll is woken for it
    BOOST_TEST_REQUIRE(delayed.size() == 1u);
    BOOST_TEST((delayed[0] == at));  // the server's timer is told its time
    BOOST_TEST((store.next_due() == at));

    clock.set(at - std::chrono::microseconds{1});
    BOOST_TEST(store.release_due() == 0u);
    BOOST_TEST(!claim(a).value().has_value());

    clock.set(at);
    BOOST_TEST(store.release_due() == 1u);  // as the timer does at `at`
    BOOST_TEST_REQUIRE(woken.size() == 1u);
    BOOST_TEST((woken[0] == kTenantA));
    BOOST_TEST(!store.next_due().has_value());
    const auto claimed = claim(a).value();
    BOOST_TEST_REQUIRE(claimed.has_value());
    BOOST_TEST((claimed->id == task.id));
    BOOST_TEST((claimed->schedule.not_before == at));  // shown as created
}

BOOST_AUTO_TEST_CASE(a_claim_does_not_wait_for_the_timer) {
    const auto a = agent(kTenantA);
    const auto at = clock.now() + seconds{5};
    const model::Task task = create_scheduled(kTenantA, 5, at);
    BOOST_TEST(!claim(a).value().has_value());
    clock.set(at);  // the timer has not run
    const auto claimed = claim(a).value();
    BOOST_TEST_REQUIRE(claimed.has_value());
    BOOST_TEST((claimed->id == task.id));
}

BOOST_AUTO_TEST_CASE(a_delayed_task_takes_its_place_by_priority_and_age) {
    const auto a = agent(kTenantA);
    const model::Task late = create_scheduled(kTenantA, 5, clock.now() + seconds{1});
    tick();
    const model::Task now_low = create_scheduled(kTenantA, 5);
    tick();
    const model::Task now_high = create_scheduled(kTenantA, 9);
    clock.advance(seconds{2});
    // The delayed task is the oldest of priority 5: after the 9, before the other 5.
    const std::vector<std::string> expected{text(now_high), text(late), text(now_low)};
    BOOST_TEST(claim_all(a) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(requeue_and_lease_expiry_make_a_delayed_task_claimable_at_once) {
    const auto a = agent(kTenantA);
    const auto at = clock.now() + seconds{3600};
    const model::Task cancelled = create_scheduled(kTenantA, 5, at);
    BOOST_TEST_REQUIRE(admin_patch(cancelled.id, Status::failed).has_value());
    const auto requeued = admin_patch(cancelled.id, Status::pending);
    BOOST_TEST_REQUIRE(requeued.has_value());
    BOOST_TEST(!requeued->schedule.delayed());  // lifted: claimable at once
    auto claimed = claim(a).value();
    BOOST_TEST_REQUIRE(claimed.has_value());
    BOOST_TEST((claimed->id == cancelled.id));
    BOOST_TEST_REQUIRE(patch(cancelled.id, {Status::completed, model::make_json_text("{}")}, a).has_value());

    // A delayed task claimed at its time whose lease runs out comes back claimable at once.
    const auto soon = clock.now() + seconds{1};
    const model::Task task = create_scheduled(kTenantA, 5, soon);
    clock.set(soon);
    claimed = claim(a).value();
    BOOST_TEST_REQUIRE(claimed.has_value());
    BOOST_TEST((claimed->id == task.id));
    clock.advance(seconds{model::kDefaultLeaseSeconds});
    BOOST_TEST(store.expire_leases().value == 1u);
    BOOST_TEST(!store.find_task(task.id)->schedule.delayed());
    claimed = claim(a).value();
    BOOST_TEST_REQUIRE(claimed.has_value());
    BOOST_TEST((claimed->id == task.id));

    // The entries these left in Delays are dropped when due: nothing is released twice.
    clock.set(at);
    BOOST_TEST(store.release_due() == 0u);
}

BOOST_AUTO_TEST_CASE(fair_order_gives_a_later_tenant_its_turn) {
    store.set_shared_claim_order(model::SharedClaimOrder::fair);
    const auto shared = agent(std::nullopt);
    for (int i = 0; i < 1000; ++i) {
        create_scheduled(kTenantA, 5);
        tick();
    }
    for (int i = 0; i < 5; ++i) BOOST_TEST_REQUIRE(claim(shared).value().has_value());
    std::vector<model::Uuid> later;
    for (int i = 0; i < 10; ++i) {
        later.push_back(create_scheduled(kTenantB, 5).id);
        tick();
    }
    std::size_t of_b = 0;
    for (int i = 0; i < 20; ++i) {
        const auto claimed = claim(shared).value();
        BOOST_TEST_REQUIRE(claimed.has_value());
        if (claimed->tenant_id == kTenantB) ++of_b;
    }
    BOOST_TEST(of_b == 10u);
}

BOOST_AUTO_TEST_CASE(oldest_order_takes_a_backlog_first) {
    // The original's rule, the default: the later tenant waits behind the backlog.
    const auto shared = agent(std::nullopt);
    for (int i = 0; i < 30; ++i) {
        create_scheduled(kTenantA, 5);
        tick();
    }
    for (int i = 0; i < 10; ++i) create_scheduled(kTenantB, 5);
    for (int i = 0; i < 30; ++i) BOOST_TEST(claim(shared).value()->tenant_id == kTenantA);
    BOOST_TEST(claim(shared).value()->tenant_id == kTenantB);
}

BOOST_AUTO_TEST_CASE(recovery_keeps_a_delayed_task_waiting) {
    const auto at = clock.now() + seconds{60};
    const model::Task task = create_scheduled(kTenantA, 7, at);
    const auto data = store.capture([](std::uint64_t) {});
    model::Task copy;
    std::optional<std::string> key;
    data.read_task(0, copy, key);
    BOOST_TEST(copy.schedule.priority == 7);
    BOOST_TEST((copy.schedule.not_before == at));

    model::ManualClock replica_clock{clock.now()};
    journal::MemoryLog replica_log;
    store::Store replica{replica_clock, replica_log};
    {
        store::Store::Replay replay(replica);
        replay.apply(journal::Change{journal::TaskCreated{copy, std::nullopt}});
    }
    BOOST_TEST((replica.next_due() == at));
    const auto a = replica.register_agent("a", kTenantA, auth::hash_token("a")).value().value;
    BOOST_TEST(!replica.claim(a).value().value.has_value());
    replica_clock.set(at);
    const auto claimed = replica.claim(a).value().value;
    BOOST_TEST_REQUIRE(claimed.has_value());
    BOOST_TEST((claimed->id == task.id));
    BOOST_TEST(claimed->schedule.priority == 7);
}

BOOST_AUTO_TEST_SUITE_END()
