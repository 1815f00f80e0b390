// The Store under concurrency, without HTTP: 2, 4, 8 and 16 threads mixing every operation on
// one Store (creates for several tenants, claims by tenant and shared agents, holder PATCHes,
// heartbeats, admin re-queues and cancels, lease expiry on a clock the threads move, agents
// deleted and registered, listings), 250,000 operations per run, 1,000,000 in all.
//
// Afterwards, per run:
// - every successful claim, holder PATCH and admin re-queue, as the store answered it, obeys
//   the claim invariant (claim_history.hpp, check_recorded);
// - the journal (MemoryLog) holds, for each task, one state per version with a legal step
//   between each two: no running task ever changes hands without going back to pending;
// - no task is lost, the counts agree with the listings, every pending task can be claimed;
// - the journal replayed into a fresh Store gives the same state, field by field, both record
//   by record and through journal::recover with Store::Replay (the server's two threads).
#include "../unit/journal/journal_support.hpp"
#include "claim_history.hpp"

#include "auth/token.hpp"
#include "journal/change_log.hpp"
#include "journal/recovery.hpp"
#include "journal/writer.hpp"
#include "store/store.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <latch>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace {

using namespace taskd;
using model::Errc;
using model::Status;
using model::Uuid;
using store::UuidHash;
using test::claim_history::Event;
using test::claim_history::Kind;

constexpr std::size_t kOpsPerRun = 250'000;  // x4 runs; ~10 s of CPU per run under TSan (measured)
constexpr std::size_t kTenants = 4;
constexpr std::size_t kAgentsPerTenant = 2;
constexpr std::size_t kSharedAgents = 2;
// Leases of 1 s and a clock moved 50 ms at a time: a claim left alone expires after ~20 moves.
constexpr std::uint32_t kLeaseSeconds = 1;
constexpr std::size_t kListLimit = 10;
constexpr auto kClockStep = std::chrono::milliseconds{50};  // 1% of operations

// What the threads did: reported, and checked to show the mix did what it is for.
enum Count : std::size_t {
    creates, claims, empty_claims, by_deleted_agent, holder_patches, lease_lost, requeues, admin_fails, conflicts,
    expired, rotations, listed, found, kCounts
};
constexpr std::array<const char*, kCounts> kCountNames{
    "creates", "claims", "empty claims", "claims by a deleted agent", "holder patches", "lease_lost", "re-queues",
    "admin fails", "admin conflicts", "leases expired", "agent rotations", "tasks listed", "finds"};
using Counters = std::array<std::size_t, kCounts>;

// The agents in use, in fixed slots; a rotation deletes a slot's agent and registers another.
// Threads claim with a copy, so a claim by an agent deleted meanwhile is expected (401).
class AgentPool {
public:
    AgentPool(store::Store& s, const std::vector<Uuid>& tenants) : store_(s) {
        for (const Uuid& t : tenants)
            for (std::size_t i = 0; i < kAgentsPerTenant; ++i) slots_.push_back(make(t));
        for (std::size_t i = 0; i < kSharedAgents; ++i) slots_.push_back(make(std::nullopt));
    }
    std::size_t size() const { return slots_.size(); }
    model::Agent at(std::size_t i) {
        std::lock_guard lock(mutex_);
        return slots_[i];
    }
    // False when the store refuses to delete the slot's agent (it must not: only we delete).
    bool rotate(std::size_t i) {
        std::lock_guard lock(mutex_);
        if (!store_.delete_agent(slots_[i].id)) return false;
        slots_[i] = make(slots_[i].tenant_id);
        return true;
    }
    model::Agent make(std::optional<Uuid> tenant) {
        const std::string n = std::to_string(next_.fetch_add(1));
        return store_.register_agent("a" + n, tenant, auth::hash_token("token-" + n)).value().value;
    }

private:
    store::Store& store_;
    std::mutex mutex_;
    std::vector<model::Agent> slots_;
    std::atomic<int> next_{0};
};

// One thread's operations and what it saw. Nothing here touches Boost.Test (not thread-safe):
// failures are collected in `errors` and reported after the join.
struct Worker {
    store::Store& s;
    model::ManualClock& clock;
    AgentPool& agents;
    const std::vector<Uuid>& tenants;
    std::mt19937_64 rng;
    std::vector<Uuid> created;
    std::vector<std::pair<Uuid, model::Agent>> held;  // claimed by this thread, maybe lost since
    std::vector<Event> events;
    Counters n{};
    std::vector<std::string> errors;

    std::size_t below(std::size_t bound) { return static_cast<std::size_t>(rng() % bound); }

    void one_op() {
        const std::size_t r = below(1000);
        if (r < 70) create();
        else if (r < 500) claim();
        else if (r < 700) held.empty() ? claim() : holder_patch();
        else if (r < 770) created.empty() ? create() : admin_patch();
        else if (r < 810) n[expired] += s.expire_leases().value;
        else if (r < 820) clock.advance(kClockStep);
        else if (r < 870) list();
        else if (r < 995) created.empty() ? create() : find();
        else rotate();
    }

    void create() {
        store::NewTask t;
        t.tenant_id = tenants[below(tenants.size())];
        t.type = "stress";
        t.payload = model::make_json_text("{}");
        t.max_attempts = static_cast<std::uint32_t>(1 + below(4));
        t.lease_seconds = kLeaseSeconds;
        created.push_back(s.create_task(std::move(t)).value().value.task.id);
        ++n[creates];
    }

    // By a tenant agent or a shared one; often finds nothing (claims outnumber creates).
    void claim() { claim_with(agents.at(below(agents.size()))); }

    bool claim_with(const model::Agent& agent) {
        auto claimed = s.claim(agent);
        if (!claimed) {
            if (claimed.error().code != Errc::unauthorized) errors.push_back("claim: " + claimed.error().detail);
            ++n[by_deleted_agent];  // the agent was deleted since we copied it
            return false;
        }
        if (!claimed->value) {
            ++n[empty_claims];
            return false;
        }
        const model::Task& t = *claimed->value;
        ++n[claims];
        events.push_back({t.id, agent.id, t.version, t.attempts, Kind::claim});
        if (t.status != Status::running || t.agent_id != agent.id)
            errors.push_back("claim returned a task not running under the claimer: " + test::describe(t));
        if (below(8) != 0) held.emplace_back(t.id, agent);  // else abandoned: its lease must run out
        return true;
    }

    // Complete, fail or heartbeat, mostly the latest claim (older ones have often expired).
    void holder_patch() {
        const std::size_t i = below(4) != 0 ? held.size() - 1 : below(held.size());
        const auto [id, agent] = held[i];
        const std::size_t k = below(10);
        const Status to = k < 5 ? Status::completed : k < 8 ? Status::failed : Status::running;
        auto patched = s.patch_task(id, model::Patch{to, {}}, agent);
        if (patched) {
            ++n[holder_patches];
            events.push_back({id, agent.id, patched->value.version, patched->value.attempts, Kind::holder_patch});
        } else if (patched.error().code == Errc::lease_lost) {
            ++n[lease_lost];
        } else if (patched.error().code == Errc::not_found && s.find_task(id)) {
            // The task no longer names this agent (the admin re-queued or failed it, or its lease
            // ran out and another agent claimed it): since 37c8dfd an agent's PATCH of such a
            // task reads as missing. To the holder, a lost lease all the same.
            ++n[lease_lost];
        } else {
            errors.push_back("holder patch: " + patched.error().detail);
        }
        if (!patched || to != Status::running) {
            held[i] = held.back();
            held.pop_back();
        }
    }

    // Re-queue (allowed for finished tasks) or fail (cancels a pending task, finishes a running one).
    void admin_patch() {
        const Uuid id = created[below(created.size())];
        const bool requeue = below(4) != 0;
        auto patched = s.patch_task(id, model::Patch{requeue ? Status::pending : Status::failed, {}}, std::nullopt);
        if (!patched) {
            if (patched.error().code != Errc::conflict) errors.push_back("admin patch: " + patched.error().detail);
            ++n[conflicts];
        } else if (requeue && patched->value.attempts == 0) {
            // A re-queue (or pending -> pending at attempts 0, the same for the invariant);
            // pending -> pending keeps attempts, and is a result-only change, not recorded.
            ++n[requeues];
            events.push_back({id, Uuid{}, patched->value.version, patched->value.attempts, Kind::requeue});
        } else {
            ++n[admin_fails];
        }
    }

    // Every task a listing visits matches its filter.
    void list() {
        store::TaskFilter f;
        const std::size_t k = below(4);
        if (k == 1) f.tenant_id = tenants[below(tenants.size())];
        if (k <= 1) f.status = model::kAllStatuses[below(4)];
        if (k == 2) f.agent_id = agents.at(below(agents.size())).id;
        std::size_t visited = 0;
        s.list_tasks(f, std::nullopt, kListLimit, [&](const model::Task& t) {
            ++visited;
            if ((f.status && t.status != *f.status) || (f.tenant_id && t.tenant_id != *f.tenant_id) ||
                (f.agent_id && t.agent_id != f.agent_id))
                errors.push_back("list_tasks visited a task its filter excludes: " + test::describe(t));
        });
        if (visited > kListLimit) errors.push_back("list_tasks visited more than its limit");
        n[listed] += visited;
    }

    // No task ever goes missing, not even for a moment.
    void find() {
        const Uuid id = created[below(created.size())];
        const auto t = s.find_task(id);
        if (!t || t->id != id) errors.push_back("find_task lost " + model::to_string(id));
        ++n[found];
    }

    void rotate() {
        if (!agents.rotate(below(agents.size()))) errors.push_back("delete_agent refused a registered agent");
        ++n[rotations];
    }
};

std::size_t slot(Status s) { return static_cast<std::size_t>(s); }
constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

// How many tasks list_tasks visits for `f`, each matching it.
std::size_t count_listed(const store::Store& s, const store::TaskFilter& f) {
    std::size_t n = 0, wrong = 0;
    s.list_tasks(f, std::nullopt, kAll, [&](const model::Task& t) {
        ++n;
        wrong += f.status && t.status != *f.status;
    });
    BOOST_TEST(wrong == 0u);
    return n;
}

// Claims with `agent` until nothing is left or `max` are won; how many were won.
std::size_t claim_until_empty(Worker& w, const model::Agent& agent, std::size_t max) {
    std::size_t won = 0;
    while (won < max && w.claim_with(agent)) ++won;
    return won;
}

// One run: `threads` threads, kOpsPerRun operations between them, then every check.
void run(int threads) {
    const auto started = std::chrono::steady_clock::now();
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    journal::MemoryLog log;
    store::Store s(clock, log);
    std::vector<Uuid> tenants;
    for (std::size_t i = 0; i < kTenants; ++i) tenants.push_back(model::random_uuid());
    AgentPool agents(s, tenants);

    const std::size_t per_thread = kOpsPerRun / static_cast<std::size_t>(threads);
    std::vector<Worker> workers;
    for (int t = 0; t < threads; ++t) {
        workers.push_back(Worker{s, clock, agents, tenants, {}, {}, {}, {}, {}, {}});
        workers.back().rng.seed(0x5eed0000u + 97u * static_cast<unsigned>(threads) + static_cast<unsigned>(t));
    }
    std::latch start(threads);
    std::vector<std::thread> pool;
    for (Worker& w : workers) {
        pool.emplace_back([&start, worker = &w, per_thread] {
            start.arrive_and_wait();
            for (std::size_t i = 0; i < per_thread; ++i) worker->one_op();
        });
    }
    for (auto& th : pool) th.join();

    // Merge what the threads saw.
    Counters n{};
    std::vector<Uuid> created;
    std::unordered_map<Uuid, std::vector<Event>, UuidHash> by_task;
    Worker end{s, clock, agents, tenants, {}, {}, {}, {}, {}, {}};  // records the drain's claims
    for (auto& w : workers) {
        for (std::size_t i = 0; i < kCounts; ++i) n[i] += w.n[i];
        created.insert(created.end(), w.created.begin(), w.created.end());
        for (const Event& e : w.events) by_task[e.task].push_back(e);
        for (const auto& e : w.errors) BOOST_TEST_ERROR(e);
    }
    std::ostringstream report;
    for (std::size_t i = 0; i < kCounts; ++i) report << (i ? ", " : "") << n[i] << " " << kCountNames[i];
    BOOST_TEST_MESSAGE(threads << " threads: " << report.str());
    // The mix did what it is for: leases ran out and were fenced, tasks were re-queued.
    BOOST_TEST(n[expired] > 0u);
    BOOST_TEST(n[lease_lost] > 0u);
    BOOST_TEST(n[requeues] > 0u);
    BOOST_TEST(n[claims] > 0u);

    // None lost: every created task is there (nothing is purged in this test), and nothing else.
    std::size_t missing = 0;
    for (const Uuid& id : created) missing += !s.find_task(id).has_value();
    BOOST_TEST(missing == 0u);
    BOOST_TEST(s.task_count() == created.size());

    // Counts agree with each other and with the listings.
    const auto counts = s.task_count_by_status();
    BOOST_TEST(counts[0] + counts[1] + counts[2] + counts[3] == s.task_count());
    for (Status st : model::kAllStatuses) {
        store::TaskFilter f;
        f.status = st;
        BOOST_TEST_CONTEXT(model::to_string(st)) { BOOST_TEST(count_listed(s, f) == counts[slot(st)]); }
    }
    BOOST_TEST(count_listed(s, {}) == created.size());

    // Every pending task can be claimed: a shared agent takes about half, then each tenant's
    // own agent the rest of its tenant's, and then nothing is left for anyone.
    const model::Agent shared = agents.make(std::nullopt);
    std::size_t drained = claim_until_empty(end, shared, counts[slot(Status::pending)] / 2);
    for (const Uuid& t : tenants) drained += claim_until_empty(end, agents.make(t), kAll);
    BOOST_TEST(claim_until_empty(end, shared, kAll) == 0u);
    BOOST_TEST(end.n[by_deleted_agent] == 0u);
    BOOST_TEST(drained == counts[slot(Status::pending)]);
    const auto after = s.task_count_by_status();
    BOOST_TEST(after[slot(Status::pending)] == 0u);
    BOOST_TEST(after[slot(Status::running)] == counts[slot(Status::running)] + drained);
    for (const auto& e : end.errors) BOOST_TEST_ERROR(e);
    for (const Event& e : end.events) by_task[e.task].push_back(e);

    // The claim invariant on what the store answered.
    test::claim_history::Failures failures;
    for (auto& [id, events] : by_task) test::claim_history::check_recorded(events, failures);
    BOOST_TEST(failures.count == 0u, failures.count << " violations; first: " << failures.first);

    // The journal: legal steps only, and replayed it rebuilds the same state.
    model::ManualClock replay_clock{model::from_micros(0)};
    journal::MemoryLog replay_log;
    store::Store replayed(replay_clock, replay_log);
    const auto replay_start = std::chrono::steady_clock::now();
    const auto walk = test::claim_history::walk_and_replay(log.records(), replayed);
    const auto replay_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - replay_start);
    BOOST_TEST(!walk.unreadable, "record " << walk.records + 1 << " does not parse or is out of sequence");
    BOOST_TEST(walk.records == log.last_sequence());
    BOOST_TEST(walk.bad_steps.count == 0u, walk.bad_steps.count << " bad steps; first: " << walk.bad_steps.first);
    BOOST_TEST(test::dump(s) == test::dump(replayed), boost::test_tools::per_element());

    // And as the server recovers: the journal as one segment, decoded on recover()'s thread,
    // applied through a Replay.
    test::MemoryStorage storage;
    storage.put(journal::segment_name(1), journal::file_header(journal::kSegmentMagic, 1) + log.records());
    journal::MemoryLog recovered_log;
    store::Store recovered(replay_clock, recovered_log);
    const auto recovery = [&] {
        store::Store::Replay replay(recovered);
        return journal::recover(storage, journal::RecoverMode::strict, true,
                                [&](journal::Change&& c) { replay.apply(std::move(c)); });
    }();
    BOOST_TEST_REQUIRE(recovery.has_value(), recovery.error().message);
    BOOST_TEST(recovery->records_replayed == log.last_sequence());
    BOOST_TEST(test::dump(s) == test::dump(recovered), boost::test_tools::per_element());

    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    BOOST_TEST_MESSAGE(threads << " threads: " << per_thread * workers.size() << " operations, " << walk.records
                               << " journal records, " << drained << " drained; " << ms.count() << " ms (replay "
                               << replay_ms.count() << " ms)");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_stress)

namespace bdata = boost::unit_test::data;

BOOST_DATA_TEST_CASE(mixed_operations, bdata::make({2, 4, 8, 16}), threads) { run(threads); }

BOOST_AUTO_TEST_SUITE_END()
