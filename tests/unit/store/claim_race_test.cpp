// store/store claims racing: agents of one tenant pop its queue while shared agents pop the
// shared queue, over the same tasks, on threads started together. Every task must be claimed
// exactly once, none lost, and the indices (fixed up by the next exclusive holder) must show
// them all running. Small and deterministic in its outcome; meant to run under TSan too.
#include "../journal/journal_support.hpp"
#include "store_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <latch>
#include <limits>
#include <map>
#include <thread>
#include <vector>

namespace {

using namespace taskd;
using model::Status;
using model::Uuid;
using test::StoreFixture;

const Uuid kTenant = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
constexpr std::size_t kTasks = 10'000;

std::size_t listed(const store::Store& s, const store::TaskFilter& f) {
    std::size_t n = 0;
    s.list_tasks(f, std::nullopt, std::numeric_limits<std::size_t>::max(), [&](const model::Task&) { ++n; });
    return n;
}

struct Claimer {
    model::Agent agent;
    std::vector<Uuid> claimed;
    int errors = 0;
};

void race(StoreFixture& f, int tenant_claimers, int shared_claimers) {
    std::vector<Uuid> ids;
    std::map<Uuid, std::size_t> index_of;  // creation order
    for (std::size_t i = 0; i < kTasks; ++i) {
        ids.push_back(f.create(kTenant).id);
        index_of[ids.back()] = i;
        f.tick();
    }
    std::vector<Claimer> claimers;
    for (int i = 0; i < tenant_claimers; ++i) claimers.push_back({f.agent(kTenant), {}, 0});
    for (int i = 0; i < shared_claimers; ++i) claimers.push_back({f.agent(std::nullopt), {}, 0});

    // No Boost.Test assertion on the threads: they only record.
    std::latch start(static_cast<std::ptrdiff_t>(claimers.size()));
    std::vector<std::thread> threads;
    for (Claimer& c : claimers) {
        threads.emplace_back([&f, &start, &c] {
            start.arrive_and_wait();
            for (;;) {
                auto r = f.store.claim(c.agent);
                if (!r) {
                    ++c.errors;
                    return;
                }
                if (!r->value) return;
                if (r->value->agent_id != c.agent.id || r->value->status != Status::running) ++c.errors;
                c.claimed.push_back(r->value->id);
            }
        });
    }
    for (auto& t : threads) t.join();

    std::vector<Uuid> all;
    for (const Claimer& c : claimers) {
        BOOST_TEST_CONTEXT(c.agent.name) {
            BOOST_TEST(c.errors == 0);
            // Each claimer pops its queue in order: its claims are oldest first.
            bool ascending = true;
            for (std::size_t i = 1; i < c.claimed.size(); ++i)
                ascending = ascending && index_of.at(c.claimed[i - 1]) < index_of.at(c.claimed[i]);
            BOOST_TEST(ascending);
            all.insert(all.end(), c.claimed.begin(), c.claimed.end());
        }
    }
    BOOST_TEST(all.size() == kTasks);  // more: a double claim; fewer: a lost task
    std::sort(all.begin(), all.end());
    BOOST_TEST((std::adjacent_find(all.begin(), all.end()) == all.end()));
    std::vector<Uuid> expected = ids;
    std::sort(expected.begin(), expected.end());
    BOOST_TEST((all == expected));

    // The listings first: list_tasks must do the claims' index fix-ups itself.
    store::TaskFilter running;
    running.status = Status::running;
    BOOST_TEST(listed(f.store, running) == kTasks);
    store::TaskFilter tenant_running = running;
    tenant_running.tenant_id = kTenant;
    BOOST_TEST(listed(f.store, tenant_running) == kTasks);
    store::TaskFilter pending;
    pending.status = Status::pending;
    BOOST_TEST(listed(f.store, pending) == 0u);
    for (const Claimer& c : claimers) {
        store::TaskFilter mine;
        mine.agent_id = c.agent.id;
        BOOST_TEST(listed(f.store, mine) == c.claimed.size(), c.agent.name);
    }
    BOOST_TEST((f.store.task_count_by_status() == std::array<std::size_t, 4>{0, kTasks, 0, 0}));

    for (const Claimer& c : claimers) {
        for (const Uuid& id : c.claimed) {
            const auto t = f.task(id);
            if (t.status != Status::running || t.agent_id != c.agent.id || t.attempts != 1u || t.version != 2u) {
                BOOST_TEST_ERROR("task " << test::describe(t) << " claimed by " << c.agent.name);
                break;
            }
        }
        BOOST_TEST(!f.claim(c.agent).value().has_value());  // nothing left
    }

    // The journal holds exactly one claim record per task: a claim that lost the race for a
    // task logged nothing. (What replaying claims rebuilds is replay_test's subject.)
    std::vector<Uuid> logged;
    for (const std::string& framed : test::split_records(f.log.records())) {
        journal::RecordView r;
        BOOST_TEST_REQUIRE((journal::parse_record(test::bytes_of(framed), r) == journal::ParseResult::ok));
        if (r.type != journal::RecordType::task_claimed) continue;
        auto change = journal::decode_change(r.type, r.payload);
        BOOST_TEST_REQUIRE(change.has_value());
        const auto* claimed = std::get_if<journal::TaskChanged>(&*change);
        BOOST_TEST_REQUIRE(claimed != nullptr);
        logged.push_back(claimed->state.id);
    }
    std::sort(logged.begin(), logged.end());
    BOOST_TEST((logged == expected));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(claim_race, StoreFixture)

BOOST_AUTO_TEST_CASE(tenant_agent_and_shared_agent) { race(*this, 1, 1); }

BOOST_AUTO_TEST_CASE(two_tenant_agents_and_two_shared_agents) { race(*this, 2, 2); }

BOOST_AUTO_TEST_SUITE_END()
