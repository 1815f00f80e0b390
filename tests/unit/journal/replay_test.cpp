// Replay: a Store driven through a seeded random workload (creates in several tenants, claims by
// tenant and shared agents, PATCHes by the admin and by holders, heartbeats, re-queues, cancels,
// deletions of agents that hold tasks, purges, authentications), then its journal replayed into
// a fresh Store — from MemoryLog's records, or recovered from a snapshot and the segments a
// Writer wrote — must equal the live one: every task field, every listing, the claim order,
// every agent.
#include "auth/token.hpp"
#include "journal/change_log.hpp"
#include "journal/recovery.hpp"
#include "journal/snapshot.hpp"
#include "journal/writer.hpp"
#include "journal_support.hpp"
#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>
#include <optional>
#include <random>

namespace {

using namespace taskd;
using model::Status;
using model::Uuid;

const char* const kTypes[] = {"A", "B", "C"};
enum Op { kCreate, kClaim, kHolderPatch, kAdminPatch, kRequeue, kCancel, kDeleteAgent, kPurge, kAuthenticate, kOps };

struct LiveAgent {
    model::Agent agent;
    int token = 0;
};

model::TokenHash token_hash(int n) { return auth::hash_token("token-" + std::to_string(n)); }

class Workload {
public:
    Workload(journal::ChangeLog& log, std::uint32_t seed) : store(clock, log), rng(seed) {
        for (int i = 0; i < 3; ++i) tenants.push_back(model::random_uuid());
        for (const auto& t : tenants) add_agent(t);
        add_agent(std::nullopt);
        add_agent(std::nullopt);
    }

    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    store::Store store;
    std::mt19937 rng;
    std::vector<Uuid> tenants;
    std::vector<LiveAgent> agents;  // not deleted
    std::vector<Uuid> every_agent;  // ever registered
    int tokens = 0;
    std::array<int, kOps> succeeded{};  // by Op: proof that the workload did each thing

    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
    model::JsonText maybe_result(int step) {
        return pick(2) ? model::make_json_text("{\"step\":" + std::to_string(step) + "}") : nullptr;
    }

    void add_agent(std::optional<Uuid> tenant) {
        const int n = tokens++;
        auto a = store.register_agent("agent-" + std::to_string(n), tenant, token_hash(n));
        BOOST_TEST_REQUIRE(a.has_value());
        agents.push_back({a->value, n});
        every_agent.push_back(a->value.id);
    }

    std::vector<model::Task> tasks(const store::TaskFilter& f = {}) const {
        std::vector<model::Task> out;
        store.list_tasks(f, std::nullopt, std::numeric_limits<std::size_t>::max(),
                         [&](const model::Task& t) { out.push_back(t); });
        return out;
    }
    std::optional<model::Task> any_task(std::optional<Status> status) {
        store::TaskFilter f;
        f.status = status;
        auto all = tasks(f);
        if (all.empty()) return std::nullopt;
        return all[pick(all.size())];
    }
    LiveAgent* holder_of(const model::Task& t) {
        for (auto& a : agents)
            if (t.agent_id == a.agent.id) return &a;
        return nullptr;
    }

    void run(int steps) {
        for (int step = 0; step < steps; ++step) {
            const std::int64_t advance[] = {0, 1, 250'000, 1'100'000};
            clock.advance(std::chrono::microseconds(advance[pick(4)]));
            const auto op = static_cast<Op>(ops_(rng));
            if (do_op(op, step)) ++succeeded[op];
        }
    }

private:
    // Weights by Op: enough creates and claims that a few hundred tasks remain in every state.
    std::discrete_distribution<int> ops_{6, 4, 3, 2, 1, 1, 1, 1, 2};

    bool do_op(Op op, int step) {
        switch (op) {
            case kCreate: {
                store::NewTask n{tenants[pick(tenants.size())], kTypes[pick(3)],
                                 model::make_json_text("{\"step\":" + std::to_string(step) + "}"),
                                 static_cast<std::uint32_t>(1 + pick(3)), static_cast<std::uint32_t>(30 + pick(90)),
                                 step % 4 == 0 ? std::optional<std::string>("key-" + std::to_string(step)) : std::nullopt,
                                 // Some with a priority or a not_before (issue 23), which replay keeps.
                                 model::Schedule{step % 3 == 0 ? model::from_micros(1'000'000 * step) : model::kNoTime,
                                                 static_cast<std::uint8_t>(step % 10)}};
                return store.create_task(std::move(n)).has_value();
            }
            case kClaim: {
                auto r = store.claim(agents[pick(agents.size())].agent);
                return r.has_value() && r->value.has_value();
            }
            case kHolderPatch: {  // heartbeat, complete or fail, by the agent that holds it
                auto t = any_task(Status::running);
                LiveAgent* holder = t ? holder_of(*t) : nullptr;
                if (!holder) return false;
                const Status to[] = {Status::running, Status::completed, Status::failed};
                return store.patch_task(t->id, {to[pick(3)], maybe_result(step)}, holder->agent).has_value();
            }
            case kAdminPatch: {  // anything: the table refuses what it must
                auto t = any_task(std::nullopt);
                return t && store.patch_task(t->id, {model::kAllStatuses[pick(4)], maybe_result(step)}, std::nullopt)
                                .has_value();
            }
            case kRequeue: {
                auto t = any_task(pick(2) ? Status::completed : Status::failed);
                return t && store.patch_task(t->id, {Status::pending, nullptr}, std::nullopt).has_value();
            }
            case kCancel: {
                auto t = any_task(Status::pending);
                return t && store.patch_task(t->id, {Status::failed, maybe_result(step)}, std::nullopt).has_value();
            }
            case kDeleteAgent: {  // preferably one that holds tasks; a new one takes its place
                auto t = any_task(Status::running);
                LiveAgent* victim = t ? holder_of(*t) : nullptr;
                if (!victim) victim = &agents[pick(agents.size())];
                const LiveAgent gone = *victim;
                agents.erase(agents.begin() + (victim - agents.data()));
                auto deleted = store.delete_agent(gone.agent.id);
                add_agent(gone.agent.tenant_id);
                return deleted.has_value() && deleted->value > 0;
            }
            case kPurge:
                return store.purge_finished(clock.now() - std::chrono::seconds(20), 1 + pick(3)).value > 0;
            case kAuthenticate: {
                const int token = pick(5) ? agents[pick(agents.size())].token  // or any, deleted ones too
                                          : static_cast<int>(pick(static_cast<std::size_t>(tokens)));
                return store.authenticate_agent(token_hash(token)).has_value();
            }
            case kOps: break;
        }
        return false;
    }
};

// The live store and a replica agree on every task, every listing, the counts and every agent.
// last_seen_at is logged at most once a second, so unless `exact` the replica's may be older.
void expect_same(const Workload& live, const store::Store& replica, bool exact) {
    BOOST_TEST(test::task_lines(live.store) == test::task_lines(replica), boost::test_tools::per_element());
    std::vector<store::TaskFilter> filters;
    for (const Uuid& t : live.tenants) {
        filters.push_back({t, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
        for (Status s : model::kAllStatuses) filters.push_back({t, s, std::nullopt, std::nullopt, std::nullopt});
        filters.push_back({t, std::nullopt, std::nullopt, std::string("B"), std::nullopt});
    }
    for (Status s : model::kAllStatuses) filters.push_back({std::nullopt, s, std::nullopt, std::nullopt, std::nullopt});
    for (const Uuid& a : live.every_agent) filters.push_back({std::nullopt, std::nullopt, a, std::nullopt, std::nullopt});
    for (const char* type : kTypes)
        filters.push_back({std::nullopt, Status::completed, std::nullopt, std::string(type), std::nullopt});
    for (std::size_t i = 0; i < filters.size(); ++i)
        BOOST_TEST_CONTEXT("filter " << i) {
            BOOST_TEST(test::task_lines(live.store, filters[i]) == test::task_lines(replica, filters[i]),
                       boost::test_tools::per_element());
        }
    // Paging: pages of 7 walked with `after` give the same pages.
    std::optional<store::TaskKey> after;
    for (bool more = true; more;) {
        std::vector<std::string> a, b;
        std::optional<store::TaskKey> next;
        more = live.store.list_tasks({}, after, 7, [&](const model::Task& t) {
            a.push_back(test::describe(t));
            next = store::key_of(t);
        });
        const bool more_b =
            replica.list_tasks({}, after, 7, [&](const model::Task& t) { b.push_back(test::describe(t)); });
        BOOST_TEST(more == more_b);
        BOOST_TEST(a == b, boost::test_tools::per_element());
        after = next;
    }
    BOOST_TEST(live.store.task_count() == replica.task_count());
    BOOST_TEST(live.store.task_count_by_status() == replica.task_count_by_status(), boost::test_tools::per_element());

    const auto agents = live.store.list_agents(), copies = replica.list_agents();
    BOOST_TEST_REQUIRE(agents.size() == copies.size());
    for (std::size_t i = 0; i < agents.size(); ++i) {
        BOOST_TEST(test::describe(agents[i], false) == test::describe(copies[i], false));
        if (exact) BOOST_TEST(test::opt_time(agents[i].last_seen_at) == test::opt_time(copies[i].last_seen_at));
        else if (copies[i].last_seen_at)
            BOOST_TEST((agents[i].last_seen_at && *copies[i].last_seen_at <= *agents[i].last_seen_at));
    }
}

// Logs every agent's last_seen_at: two seconds on, each authenticates once.
void authenticate_all(Workload& w) {
    w.clock.advance(std::chrono::seconds(2));
    for (const auto& a : w.agents) BOOST_TEST_REQUIRE(w.store.authenticate_agent(token_hash(a.token)).has_value());
}

// Destructive: a fresh agent of tenant 0, then a fresh shared one, claim everything they can in
// both stores; the claim orders must be equal. Tokens of every agent authenticate alike.
void expect_same_claims(Workload& live, store::Store& replica) {
    for (int t = 0; t < live.tokens; ++t)
        BOOST_TEST(live.store.authenticate_agent(token_hash(t)).has_value() ==
                   replica.authenticate_agent(token_hash(t)).has_value());
    for (std::optional<Uuid> tenant : {std::optional<Uuid>(live.tenants[0]), std::optional<Uuid>()}) {
        const std::string name = tenant ? "drain-tenant" : "drain-shared";
        const auto a = live.store.register_agent(name, tenant, auth::hash_token(name + "-live")).value().value;
        const auto b = replica.register_agent(name, tenant, auth::hash_token(name + "-replica")).value().value;
        std::vector<std::string> from_live, from_replica;
        while (auto t = live.store.claim(a).value().value) from_live.push_back(model::to_string(t->id));
        while (auto t = replica.claim(b).value().value) from_replica.push_back(model::to_string(t->id));
        BOOST_TEST(!from_live.empty());
        BOOST_TEST(from_live == from_replica, boost::test_tools::per_element());
    }
}

struct Replica {
    model::ManualClock clock{model::from_micros(1'800'000'000'000'000)};
    journal::MemoryLog log;
    store::Store store{clock, log};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_replay)

BOOST_AUTO_TEST_CASE(replayed_journal_equals_the_live_store) {
    for (std::uint32_t seed : {1u, 2u, 3u}) {
        BOOST_TEST_CONTEXT("seed " << seed) {
            journal::MemoryLog log;
            Workload live(log, seed);
            live.run(500);
            for (int op = 0; op < kOps; ++op) BOOST_TEST(live.succeeded[static_cast<std::size_t>(op)] > 0, "op " << op);

            Replica behind;  // before the last second's last_seen_at is logged
            BOOST_TEST(test::replay_into(behind.store, log.records()) == log.last_sequence());
            expect_same(live, behind.store, false);

            authenticate_all(live);
            Replica replica;
            BOOST_TEST(test::replay_into(replica.store, log.records()) == log.last_sequence());
            expect_same(live, replica.store, true);

            // As recovery does it: one Replay, under one lock, the queues built at its end.
            Replica replayed;
            {
                store::Store::Replay replay(replayed.store);
                const std::string records = log.records();
                std::string_view framed = records;
                while (!framed.empty()) {
                    journal::RecordView r;
                    BOOST_TEST_REQUIRE((journal::parse_record(test::bytes_of(framed), r) == journal::ParseResult::ok));
                    auto change = journal::decode_change(r.type, r.payload);
                    BOOST_TEST_REQUIRE(change.has_value());
                    replay.apply(std::move(*change));
                    framed.remove_prefix(r.size);
                }
            }
            expect_same(live, replayed.store, true);
            BOOST_TEST(replayed.store.task_count_by_status() == live.store.task_count_by_status());
            // Its claim queues, rebuilt when the Replay ended, hand out what the others do.
            const auto drain = [](store::Store& from) {
                const auto agent = from.register_agent("drain", std::nullopt, auth::hash_token("drain")).value().value;
                std::vector<std::string> ids;
                while (auto t = from.claim(agent).value().value) ids.push_back(model::to_string(t->id));
                return ids;
            };
            Replica reference;
            test::replay_into(reference.store, log.records());
            const auto expected = drain(reference.store);
            BOOST_TEST(!expected.empty());
            BOOST_TEST(drain(replayed.store) == expected, boost::test_tools::per_element());

            expect_same_claims(live, replica.store);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_task_state_applied_twice_or_late_changes_nothing) {
    journal::MemoryLog log;
    Workload live(log, 7);
    live.run(300);
    authenticate_all(live);
    const auto records = test::split_records(log.records());
    std::vector<journal::Change> changes;
    for (const auto& record : records) {
        journal::RecordView r;
        BOOST_TEST_REQUIRE((journal::parse_record(test::bytes_of(record), r) == journal::ParseResult::ok));
        changes.push_back(journal::decode_change(r.type, r.payload).value());
    }
    Replica replica;
    std::size_t states = 0;
    for (const auto& change : changes) {
        replica.store.apply(change);
        if (std::holds_alternative<journal::TaskChanged>(change)) {
            replica.store.apply(change);  // the same state twice: its version is not newer
            ++states;
        }
    }
    BOOST_TEST(states > 50u);
    expect_same(live, replica.store, true);
    // Every state again, oldest first and then newest first: each is no newer than its task's.
    const auto before = test::dump(replica.store);
    for (const auto& change : changes)
        if (std::holds_alternative<journal::TaskChanged>(change)) replica.store.apply(change);
    for (auto it = changes.rbegin(); it != changes.rend(); ++it)
        if (std::holds_alternative<journal::TaskChanged>(*it)) replica.store.apply(*it);
    BOOST_TEST(test::dump(replica.store) == before, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(snapshot_and_later_segments_recover_the_live_store) {
    test::TempDir dir;
    auto storage = journal::make_posix_storage(dir.path());
    journal::WriterOptions options;
    options.fsync = journal::FsyncMode::never;
    journal::Writer writer(*storage, options);
    BOOST_TEST_REQUIRE(writer.open(1).has_value());
    Workload live(writer, 11);
    // Two snapshots, each starting a new segment; the second removes what the first covered.
    std::vector<journal::SnapshotStats> written;
    journal::SnapshotData data;
    for (int round = 0; round < 2; ++round) {
        live.run(250);
        data = live.store.capture([&](std::uint64_t sequence) { writer.rotate_at(sequence + 1); });
        BOOST_TEST_REQUIRE(data.sequence == writer.last_sequence());
        // The records it covers are on disk first, so that the segment after them exists.
        BOOST_TEST_REQUIRE(writer.wait_until_durable(data.sequence));
        auto stats = journal::write_snapshot(*storage, data);
        BOOST_TEST_REQUIRE(stats.has_value());
        written.push_back(*stats);
    }
    BOOST_TEST(written[1].segments_removed == 1u);
    BOOST_TEST(written[1].snapshots_removed == 1u);
    live.run(250);
    authenticate_all(live);
    BOOST_TEST_REQUIRE(writer.wait_until_durable(writer.last_sequence()));
    writer.close();

    Replica replica;
    std::optional<std::uint64_t> expected;  // the snapshot's count, told before its tasks
    std::size_t applied_before = 0, told = 0;
    auto report = [&] {  // as the server recovers
        store::Store::Replay replay(replica.store);
        return journal::recover(
            *storage, journal::RecoverMode::strict, false,
            [&](journal::Change&& c) {
                if (!expected) ++applied_before;
                replay.apply(std::move(c));
            },
            [&](std::uint64_t tasks) {
                ++told;
                expected = tasks;
                replay.reserve(tasks);
            });
    }();
    BOOST_TEST_REQUIRE(report.has_value(), (report ? "" : report.error().message));
    BOOST_TEST(told == 1u);
    BOOST_TEST(applied_before == 0u);
    BOOST_TEST(expected.value_or(0) == data.task_count);
    BOOST_TEST(report->snapshot_file == journal::snapshot_name(data.sequence));
    BOOST_TEST(report->snapshot_sequence == data.sequence);
    BOOST_TEST(report->snapshot_tasks == data.task_count);
    BOOST_TEST(report->records_replayed == writer.last_sequence() - data.sequence);
    BOOST_TEST(report->last_sequence == writer.last_sequence());
    BOOST_TEST(report->cuts.empty());
    expect_same(live, replica.store, true);
    expect_same_claims(live, replica.store);

    // A snapshot_end whose count the file could not hold (a record with a valid CRC: a bug or
    // a forgery) is no hint, and its snapshot stops the start as any whose counts are wrong.
    const auto path = dir.path() / journal::snapshot_name(data.sequence);
    {
        std::string bytes;
        {
            std::ifstream in(path, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        const std::size_t end_bytes = journal::kRecordHeaderBytes + 16;
        BOOST_TEST_REQUIRE(bytes.size() > end_bytes);
        journal::RecordView end;
        BOOST_TEST_REQUIRE((journal::parse_record(test::bytes_of(std::string_view(bytes).substr(bytes.size() - end_bytes)),
                                                  end) == journal::ParseResult::ok));
        BOOST_TEST_REQUIRE((end.type == journal::RecordType::snapshot_end));
        std::string forged = bytes.substr(0, bytes.size() - end_bytes);
        journal::append_record(forged, journal::RecordType::snapshot_end, end.sequence,
                               journal::encode_snapshot_end(data.agents.size(), std::uint64_t{1} << 40));
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out << forged;
        }
        Replica again;
        bool hinted = false;
        auto refused = journal::recover(
            *storage, journal::RecoverMode::strict, false, [&](const journal::Change& c) { again.store.apply(c); },
            [&](std::uint64_t) { hinted = true; });
        BOOST_TEST(!hinted);
        BOOST_TEST_REQUIRE(!refused.has_value());
        BOOST_TEST(refused.error().message.find("counts do not match") != std::string::npos, refused.error().message);
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    // A damaged newest snapshot stops the start in every mode: the journal it covers is gone.
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(100);
        const char c = static_cast<char>(f.get() ^ 0x20);
        f.seekp(100);
        f.put(c);
    }
    for (auto mode : {journal::RecoverMode::strict, journal::RecoverMode::truncate_corrupt}) {
        Replica again;
        auto refused = journal::recover(*storage, mode, false, [&](const journal::Change& c) { again.store.apply(c); });
        BOOST_TEST_REQUIRE(!refused.has_value());
        BOOST_TEST(refused.error().message.find(journal::snapshot_name(data.sequence)) != std::string::npos,
                   refused.error().message);
    }
}

BOOST_AUTO_TEST_SUITE_END()
