// api/waiters: the long-poll registry. Each waiter's timer is armed far in the future and
// awaited on one single-threaded io_context; a wake-up is a posted cancel(), so after notify()
// poll() runs exactly the completions it caused (operation_aborted), and the others stay
// pending until the test cancels them. No sleeps, no deadlines reached.
#include "api/waiters.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace taskd;
using api::Waiters;
using model::Uuid;

const Uuid kTenantA = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
const Uuid kTenantB = *model::parse_uuid("bbbbbbbb-0000-4000-8000-000000000002");
const Uuid kTenantC = *model::parse_uuid("cccccccc-0000-4000-8000-000000000003");

struct Probe {
    std::string name;
    std::shared_ptr<Waiters::Waiter> waiter;
    int completions = 0;
    int aborted = 0;
};

struct WaitersFixture {
    boost::asio::io_context io;
    Waiters waiters{8};
    std::deque<Probe> probes;  // stable addresses for the handlers

    // Adds a waiter (it must be accepted) and starts its wait, an hour long. Each waiter is of
    // an agent of its own unless `agent` is given.
    Probe& add(const std::string& name, const std::optional<Uuid>& tenant, std::optional<Uuid> agent = {}) {
        auto w = waiters.add(io.get_executor(), agent ? *agent : next_agent(), tenant);
        BOOST_TEST_REQUIRE(w != nullptr, name);
        Probe& p = probes.emplace_back(Probe{name, std::move(w), 0, 0});
        arm(p);
        return p;
    }
    Uuid next_agent() {
        Uuid id{};
        id.data[15] = static_cast<std::uint8_t>(++agents_made);
        return id;
    }
    int agents_made = 0;
    static void arm(Probe& p) {
        p.waiter->timer.expires_after(std::chrono::hours{1});
        p.waiter->timer.async_wait([&p](boost::system::error_code ec) {
            ++p.completions;
            if (ec == boost::asio::error::operation_aborted) ++p.aborted;
        });
    }
    // Runs what is ready (posted cancels and the completions they cause), never blocks.
    void poll() {
        io.poll();
        io.restart();
    }
    // The names of the waiters whose wait has completed, in probe order.
    std::vector<std::string> completed() const {
        std::vector<std::string> out;
        for (const auto& p : probes) {
            BOOST_TEST(p.completions <= 1, p.name);
            BOOST_TEST(p.aborted == p.completions, p.name);
            if (p.completions) out.push_back(p.name);
        }
        return out;
    }
    // Cancels every wait still pending and runs the io_context to completion.
    void finish() {
        for (auto& p : probes) p.waiter->timer.cancel();
        io.restart();
        io.run();
        for (const auto& p : probes) BOOST_TEST(p.completions == 1, p.name);
    }
    ~WaitersFixture() { finish(); }
};

using Names = std::vector<std::string>;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(waiters, WaitersFixture)

BOOST_AUTO_TEST_CASE(add_respects_max) {
    Waiters small(2);
    auto first = small.add(io.get_executor(), next_agent(), kTenantA);
    auto second = small.add(io.get_executor(), next_agent(), std::nullopt);
    BOOST_TEST_REQUIRE(first != nullptr);
    BOOST_TEST_REQUIRE(second != nullptr);
    BOOST_TEST(small.count() == 2u);
    BOOST_TEST(small.add(io.get_executor(), next_agent(), kTenantB) == nullptr);
    BOOST_TEST(small.add(io.get_executor(), next_agent(), std::nullopt) == nullptr);
    BOOST_TEST(small.count() == 2u);

    BOOST_TEST(!small.remove(first).has_value());  // frees a place
    BOOST_TEST(small.count() == 1u);
    auto third = small.add(io.get_executor(), next_agent(), kTenantB);
    BOOST_TEST_REQUIRE(third != nullptr);
    BOOST_TEST(small.add(io.get_executor(), next_agent(), kTenantB) == nullptr);

    small.notify(kTenantB);  // a woken waiter frees its place as well
    BOOST_TEST(small.count() == 1u);
    BOOST_TEST(small.add(io.get_executor(), next_agent(), kTenantC) != nullptr);
    BOOST_TEST(small.count() == 2u);

    small.stop();
    BOOST_TEST(small.stopping());
    BOOST_TEST(small.count() == 0u);
    BOOST_TEST(small.add(io.get_executor(), next_agent(), kTenantA) == nullptr);
    BOOST_TEST(small.add(io.get_executor(), next_agent(), std::nullopt) == nullptr);

    Waiters none(0);
    BOOST_TEST(none.add(io.get_executor(), next_agent(), kTenantA) == nullptr);
    poll();  // the posted cancels of timers no one waits on
}

BOOST_AUTO_TEST_CASE(notify_wakes_the_longest_waiting_eligible_waiter) {
    add("shared-1", std::nullopt);
    add("a-1", kTenantA);
    add("b-1", kTenantB);
    add("a-2", kTenantA);
    add("shared-2", std::nullopt);
    poll();
    BOOST_TEST(completed().empty());
    BOOST_TEST(waiters.count() == 5u);

    struct Step {
        Uuid tenant;
        Names woken_so_far;
        std::size_t still_waiting;
    };
    const std::vector<Step> steps = {
        {kTenantA, {"shared-1"}, 4},                                 // the shared one waited longest
        {kTenantA, {"shared-1", "a-1"}, 3},
        {kTenantA, {"shared-1", "a-1", "a-2"}, 2},                   // b-1 is not eligible
        {kTenantC, {"shared-1", "a-1", "a-2", "shared-2"}, 1},       // a shared agent takes any tenant
        {kTenantA, {"shared-1", "a-1", "a-2", "shared-2"}, 1},       // nobody left for A
        {kTenantB, {"shared-1", "a-1", "b-1", "a-2", "shared-2"}, 0},
    };
    for (const auto& step : steps) {
        BOOST_TEST_CONTEXT("notify " << model::to_string(step.tenant) << " -> " << step.woken_so_far.size()) {
            waiters.notify(step.tenant);
            poll();
            BOOST_TEST(completed() == step.woken_so_far, boost::test_tools::per_element());
            BOOST_TEST(waiters.count() == step.still_waiting);
        }
    }
    BOOST_TEST(waiters.count() == 0u);
}

BOOST_AUTO_TEST_CASE(own_tenant_waiter_first_when_it_waited_longer) {
    add("a-1", kTenantA);
    add("shared-1", std::nullopt);
    add("a-2", kTenantA);
    waiters.notify(kTenantA);
    poll();
    BOOST_TEST(completed() == Names{"a-1"}, boost::test_tools::per_element());
    waiters.notify(kTenantA);
    poll();
    BOOST_TEST(completed() == (Names{"a-1", "shared-1"}), boost::test_tools::per_element());
    BOOST_TEST(waiters.count() == 1u);
}

BOOST_AUTO_TEST_CASE(notify_without_an_eligible_waiter_wakes_nobody) {
    Probe& a = add("a-1", kTenantA);
    waiters.notify(kTenantB);
    waiters.notify(kTenantC);
    poll();
    BOOST_TEST(completed().empty());
    BOOST_TEST(!waiters.woken(a.waiter));
    BOOST_TEST(waiters.count() == 1u);
    waiters.notify(kTenantA);  // still there for its own tenant
    poll();
    BOOST_TEST(completed() == Names{"a-1"}, boost::test_tools::per_element());

    Waiters empty(4);
    empty.notify(kTenantA);  // nothing registered at all
    BOOST_TEST(empty.count() == 0u);
}

BOOST_AUTO_TEST_CASE(woken_and_remove) {
    Probe& a = add("a-1", kTenantA);
    Probe& s = add("shared-1", std::nullopt);
    Probe& idle = add("b-1", kTenantB);
    BOOST_TEST(!waiters.woken(a.waiter));
    BOOST_TEST(!waiters.woken(s.waiter));

    waiters.notify(kTenantA);  // a-1 waited longest
    BOOST_TEST(waiters.woken(a.waiter));
    BOOST_TEST(!waiters.woken(s.waiter));
    BOOST_TEST(waiters.count() == 2u);
    const auto woken_for = waiters.remove(a.waiter);
    BOOST_TEST_REQUIRE(woken_for.has_value());
    BOOST_TEST((*woken_for == kTenantA));
    BOOST_TEST(waiters.count() == 2u);  // its place was freed by notify, not again
    BOOST_TEST((waiters.remove(a.waiter) == kTenantA));

    waiters.notify(kTenantC);  // the shared waiter, for tenant C
    BOOST_TEST(waiters.woken(s.waiter));
    BOOST_TEST((waiters.remove(s.waiter) == kTenantC));
    BOOST_TEST(waiters.count() == 1u);

    BOOST_TEST(!waiters.remove(idle.waiter).has_value());  // never woken: timed out, say
    BOOST_TEST(waiters.count() == 0u);
    BOOST_TEST(!waiters.remove(idle.waiter).has_value());
    BOOST_TEST(waiters.count() == 0u);
    waiters.notify(kTenantB);  // removed: not picked
    poll();
    BOOST_TEST(completed() == (Names{"a-1", "shared-1"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(removed_waiter_is_passed_over) {
    Probe& first = add("a-1", kTenantA);
    add("a-2", kTenantA);
    BOOST_TEST(!waiters.remove(first.waiter).has_value());
    waiters.notify(kTenantA);
    poll();
    BOOST_TEST(completed() == Names{"a-2"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(wake_before_the_wait_starts_cancels_it) {
    // The request checks woken() and then waits; a notify between the two must not be lost.
    auto w = waiters.add(io.get_executor(), next_agent(), kTenantA);
    BOOST_TEST_REQUIRE(w != nullptr);
    BOOST_TEST(!waiters.woken(w));
    waiters.notify(kTenantA);
    Probe& p = probes.emplace_back(Probe{"late", w, 0, 0});
    arm(p);
    poll();
    BOOST_TEST(completed() == Names{"late"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(wake_agent_wakes_that_agents_waiters_only_and_passes_no_notice) {
    const Uuid doomed = *model::parse_uuid("dddddddd-0000-4000-8000-000000000004");
    const Uuid doomed_shared = *model::parse_uuid("dddddddd-0000-4000-8000-000000000005");
    add("a-1", kTenantA);
    Probe& d1 = add("doomed-1", kTenantA, doomed);
    add("b-1", kTenantB);
    Probe& d2 = add("doomed-2", kTenantA, doomed);
    Probe& ds = add("doomed-shared", std::nullopt, doomed_shared);
    add("shared-1", std::nullopt);
    waiters.wake_agent(doomed);
    waiters.wake_agent(doomed_shared);
    BOOST_TEST(waiters.count() == 3u);
    BOOST_TEST(waiters.woken(d1.waiter));
    BOOST_TEST(waiters.woken(d2.waiter));
    poll();
    BOOST_TEST(completed() == (Names{"doomed-1", "doomed-2", "doomed-shared"}), boost::test_tools::per_element());
    // Woken for no tenant: nothing to hand on.
    BOOST_TEST(!waiters.remove(d1.waiter).has_value());
    BOOST_TEST(!waiters.remove(ds.waiter).has_value());
    // The others still wait in their order.
    waiters.notify(kTenantA);
    poll();
    BOOST_TEST(completed() == (Names{"a-1", "doomed-1", "doomed-2", "doomed-shared"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stop_wakes_everyone_and_refuses_new_waiters) {
    Probe& a = add("a-1", kTenantA);
    add("b-1", kTenantB);
    Probe& s = add("shared-1", std::nullopt);
    add("a-2", kTenantA);
    waiters.stop();
    BOOST_TEST(waiters.stopping());
    BOOST_TEST(waiters.count() == 0u);
    BOOST_TEST(waiters.woken(a.waiter));
    BOOST_TEST(waiters.woken(s.waiter));
    poll();
    BOOST_TEST(completed() == (Names{"a-1", "b-1", "shared-1", "a-2"}), boost::test_tools::per_element());
    BOOST_TEST(waiters.add(io.get_executor(), next_agent(), kTenantA) == nullptr);
    BOOST_TEST(waiters.add(io.get_executor(), next_agent(), std::nullopt) == nullptr);
    BOOST_TEST(!waiters.remove(a.waiter).has_value());  // woken by stop, not for a tenant
    BOOST_TEST(waiters.count() == 0u);
    waiters.notify(kTenantA);
    poll();
    BOOST_TEST(waiters.count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
