// store/store over a failed journal: once the ChangeLog reports healthy() == false, every change
// is refused with journal_failed (the sticky 503) and nothing is applied or logged, while every
// read still answers (LevelDB's RecordBackgroundError manner).
#include "auth/token.hpp"
#include "journal/change_log.hpp"
#include "store/store.hpp"

#include <boost/test/unit_test.hpp>

#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace taskd;
using model::Errc;
using model::Status;

constexpr const char* kWhy = "fdatasync of records 7-9 failed: Input/output error";

// A MemoryLog that can be made to fail, and counts what is appended after it has.
class BreakableLog final : public journal::ChangeLog {
public:
    std::uint64_t append(journal::RecordType type, std::string_view payload) override {
        if (broken_) ++appended_while_broken;
        return inner_.append(type, payload);
    }
    std::uint64_t last_sequence() const override { return inner_.last_sequence(); }
    bool healthy() const override { return !broken_; }
    std::string failure() const override { return broken_ ? kWhy : ""; }
    void wait_durable(std::uint64_t sequence, journal::DurableWaiter waiter) override {
        if (broken_) return journal::complete_later(std::move(waiter), make_error_code(Errc::journal_failed));
        inner_.wait_durable(sequence, std::move(waiter));
    }

    void fail() { broken_ = true; }
    int appended_while_broken = 0;

private:
    journal::MemoryLog inner_;
    bool broken_ = false;
};

// Every task with every field, and every agent, on one line each.
std::vector<std::string> state(const store::Store& s) {
    std::vector<std::string> out;
    s.list_tasks({}, std::nullopt, std::numeric_limits<std::size_t>::max(), [&](const model::Task& t) {
        std::ostringstream line;
        line << model::to_string(t.id) << ' ' << model::to_string(t.status) << " v" << t.version << " agent="
             << (t.agent_id ? model::to_string(*t.agent_id) : "-") << " result=" << (t.result ? *t.result : "null")
             << " updated=" << model::to_micros(t.updated_at) << " attempts=" << t.attempts
             << " lease=" << (t.lease_expires_at ? model::to_micros(*t.lease_expires_at) : 0);
        out.push_back(line.str());
    });
    for (const auto& a : s.list_agents()) out.push_back(model::to_string(a.id) + ' ' + a.name);
    return out;
}

struct BrokenJournal {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    BreakableLog log;
    store::Store store{clock, log};
    const model::Uuid tenant = model::random_uuid();
    model::Agent holder, shared;
    model::Task pending, running, held_by_shared, completed;
    std::vector<std::string> before;
    std::uint64_t sequence_before = 0;

    model::Task create() {
        store::NewTask n;
        n.tenant_id = tenant;
        n.type = "T";
        n.payload = model::make_json_text("{}");
        return store.create_task(std::move(n)).value().value.task;
    }
    void tick() { clock.advance(std::chrono::seconds(2)); }

    // A task in each state, two agents holding tasks; then the journal fails.
    BrokenJournal() {
        holder = store.register_agent("holder", tenant, auth::hash_token("holder")).value().value;
        shared = store.register_agent("shared", std::nullopt, auth::hash_token("shared")).value().value;
        running = create();
        tick();
        held_by_shared = create();
        tick();
        completed = create();
        tick();
        pending = create();
        running = store.claim(holder).value().value.value();
        held_by_shared = store.claim(shared).value().value.value();
        completed = store.claim(holder).value().value.value();
        completed = store.patch_task(completed.id, {Status::completed, nullptr}, holder).value().value;
        tick();
        log.fail();
        before = state(store);
        sequence_before = log.last_sequence();
    }
};

void expect_refused(const model::Result<void>& r, const char* what) {
    BOOST_TEST_CONTEXT(what) {
        BOOST_TEST_REQUIRE(!r.has_value());
        BOOST_TEST((r.error().code == Errc::journal_failed));
        BOOST_TEST(r.error().detail.find(kWhy) != std::string::npos, r.error().detail);
    }
}

template <class T>
model::Result<void> status_of(const model::Result<T>& r) {
    if (r) return {};
    return r.error();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store_journal, BrokenJournal)

BOOST_AUTO_TEST_CASE(every_change_is_refused_and_nothing_is_applied) {
    const auto admin = std::nullopt;
    const auto result = model::make_json_text(R"({"done":true})");
    store::NewTask refused;
    refused.tenant_id = tenant;
    refused.type = "T";
    refused.payload = model::make_json_text("{}");
    expect_refused(status_of(store.create_task(std::move(refused))), "create");
    expect_refused(status_of(store.claim(holder)), "claim by a tenant agent");
    expect_refused(status_of(store.claim(shared)), "claim by a shared agent");
    expect_refused(status_of(store.patch_task(running.id, {Status::running, nullptr}, holder)), "heartbeat");
    expect_refused(status_of(store.patch_task(running.id, {Status::completed, result}, holder)), "complete by holder");
    expect_refused(status_of(store.patch_task(running.id, {Status::failed, nullptr}, admin)), "fail by admin");
    expect_refused(status_of(store.patch_task(pending.id, {Status::failed, nullptr}, admin)), "cancel");
    expect_refused(status_of(store.patch_task(pending.id, {std::nullopt, result}, admin)), "result only");
    expect_refused(status_of(store.patch_task(completed.id, {Status::pending, nullptr}, admin)), "re-queue");
    expect_refused(status_of(store.register_agent("new", tenant, auth::hash_token("new"))), "register");
    expect_refused(status_of(store.delete_agent(shared.id)), "delete an agent holding a task");

    const auto purged = store.purge_finished(clock.now() + std::chrono::hours(1), 100);
    BOOST_TEST(purged.value == 0u);
    BOOST_TEST(purged.sequence == 0u);

    BOOST_TEST(state(store) == before, boost::test_tools::per_element());
    BOOST_TEST(log.appended_while_broken == 0);
    BOOST_TEST(log.last_sequence() == sequence_before);
    BOOST_TEST(store.task_count() == 4u);
    const auto counts = store.task_count_by_status();
    BOOST_TEST(counts[0] == 1u);
    BOOST_TEST(counts[1] == 2u);
    BOOST_TEST(counts[2] == 1u);
}

BOOST_AUTO_TEST_CASE(requests_the_table_refuses_keep_their_own_error) {
    // Checks that do not depend on the journal come first: the client learns what is wrong.
    BOOST_TEST((store.patch_task(model::random_uuid(), {Status::failed, nullptr}, std::nullopt).error().code ==
                Errc::not_found));
    BOOST_TEST(
        (store.patch_task(completed.id, {Status::running, nullptr}, std::nullopt).error().code == Errc::conflict));
    BOOST_TEST((store.patch_task(running.id, {Status::completed, nullptr}, shared).error().code == Errc::not_found));
    BOOST_TEST((store.delete_agent(model::random_uuid()).error().code == Errc::not_found));
    BOOST_TEST(state(store) == before, boost::test_tools::per_element());
    BOOST_TEST(log.appended_while_broken == 0);
}

BOOST_AUTO_TEST_CASE(reads_still_answer) {
    BOOST_TEST(store.find_task(running.id).has_value());
    BOOST_TEST(store.find_task(running.id)->version == running.version);
    BOOST_TEST(store.find_agent(holder.id).has_value());
    BOOST_TEST(store.list_agents().size() == 2u);
    store::TaskFilter mine;
    mine.agent_id = holder.id;
    std::size_t n = 0;
    store.list_tasks(mine, std::nullopt, 10, [&](const model::Task&) { ++n; });
    BOOST_TEST(n == 2u);
    // Authentication is a read: it answers, and last_seen_at is not logged.
    const auto seen = store.authenticate_agent(auth::hash_token("holder"));
    BOOST_TEST_REQUIRE(seen.has_value());
    BOOST_TEST((seen->id == holder.id));
    BOOST_TEST(!store.authenticate_agent(auth::hash_token("nobody")).has_value());
    BOOST_TEST(log.appended_while_broken == 0);
    BOOST_TEST(!log.healthy());
}

BOOST_AUTO_TEST_SUITE_END()
