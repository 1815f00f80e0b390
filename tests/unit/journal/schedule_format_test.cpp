// Format 3 (issue 23): priority and not_before in journal records and snapshots, and records of
// format 2 (as taskd wrote them before issue 23) still read, with the defaults: priority 5, no
// not_before. The format-2 bytes are built field by field (tests/support/format2_records); one
// is also pinned as hex.
#include "journal/change.hpp"
#include "journal/codec.hpp"
#include "format2_records.hpp"
#include "journal_support.hpp"

#include <boost/test/unit_test.hpp>

namespace {

using namespace taskd;
using journal::RecordType;
using test::bytes_of;

const model::Uuid kId = *model::parse_uuid("7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f");
const model::Uuid kTenant = *model::parse_uuid("2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f");
const model::Uuid kAgent = *model::parse_uuid("11111111-1111-4111-8111-111111111111");
constexpr std::int64_t kCreatedUs = 1'795'558'143'123'456;

std::string format2_task_created() { return test::format2_task_created(kId, kTenant, "{}", kCreatedUs); }

// TaskState as format 2 writes it: running under kAgent.
std::string format2_task_state() {
    std::string out;
    journal::Encoder e(out);
    e.uuid(kId);
    e.u64(2);
    e.u8(1);  // running
    e.u8(1);
    e.uuid(kAgent);
    e.u8(0);  // no result
    e.u32(1);
    e.u8(1);
    e.i64(kCreatedUs + 300'000'000);
    e.i64(kCreatedUs);
    return out;
}

std::string format2_snapshot_tasks() { return test::format2_snapshot_tasks(kId, kTenant, "{}", kCreatedUs); }

std::string hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

journal::TaskCreated decode_created(RecordType type, const std::string& payload) {
    auto change = journal::decode_change(type, bytes_of(payload));
    BOOST_TEST_REQUIRE(change.has_value());
    BOOST_TEST_REQUIRE(std::holds_alternative<journal::TaskCreated>(*change));
    return std::get<journal::TaskCreated>(*change);
}

model::Task scheduled_task() {
    model::Task t;
    t.id = kId;
    t.tenant_id = kTenant;
    t.type = "noop";
    t.payload = model::make_json_text("{}");
    t.created_at = t.updated_at = model::from_micros(kCreatedUs);
    t.schedule = model::Schedule{model::from_micros(kCreatedUs + 3'600'000'000), 9};
    return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(schedule_format)

BOOST_AUTO_TEST_CASE(format2_task_created_reads_with_the_defaults) {
    const std::string old = format2_task_created();
    // Pinned: 16 + 16 bytes of ids, then the fields above. If this changes, format 2 changed.
    BOOST_TEST(hex(old).substr(64) == "040000006e6f6f70"
                                      "020000007b7d"
                                      "00604bf50c610600"
                                      "03000000"
                                      "2c010000"
                                      "00");
    const auto created = decode_created(RecordType::task_created, old);
    BOOST_TEST(int{created.task.schedule.priority} == 5);
    BOOST_TEST(!created.task.schedule.delayed());
    BOOST_TEST(model::to_micros(created.task.created_at) == kCreatedUs);
}

BOOST_AUTO_TEST_CASE(a_task_without_scheduling_is_written_as_format_2_wrote_it) {
    model::Task t = scheduled_task();
    t.schedule = {};
    BOOST_TEST(hex(journal::encode_task_created(t, std::nullopt)) == hex(format2_task_created()));
}

BOOST_AUTO_TEST_CASE(format2_task_state_reads_without_not_before) {
    auto change = journal::decode_change(RecordType::task_claimed, bytes_of(format2_task_state()));
    BOOST_TEST_REQUIRE(change.has_value());
    const auto& state = std::get<journal::TaskChanged>(*change).state;
    BOOST_TEST((state.status == model::Status::running));
    BOOST_TEST((state.not_before == model::kNoTime));
    // Applied over a delayed task (a claim keeps not_before only when the record says so).
    model::Task t = scheduled_task();
    journal::apply_state(t, state);
    BOOST_TEST(!t.schedule.delayed());
    BOOST_TEST(int{t.schedule.priority} == 9);  // priority is not a state field
}

BOOST_AUTO_TEST_CASE(format2_snapshot_tasks_read_with_the_defaults) {
    auto change = journal::decode_change(RecordType::snapshot_tasks, bytes_of(format2_snapshot_tasks()));
    BOOST_TEST_REQUIRE(change.has_value());
    const auto& run = std::get<journal::SnapshotTasks>(*change);
    BOOST_TEST_REQUIRE(run.tasks.size() == 1u);
    BOOST_TEST((run.tasks[0].task.id == kId));
    BOOST_TEST(int{run.tasks[0].task.schedule.priority} == 5);
    BOOST_TEST(!run.tasks[0].task.schedule.delayed());
}

BOOST_AUTO_TEST_CASE(format1_snapshot_task_reads_with_the_defaults) {
    std::string old = format2_task_created() + format2_task_state();
    const auto created = decode_created(RecordType::snapshot_task, old);
    BOOST_TEST(int{created.task.schedule.priority} == 5);
    BOOST_TEST(!created.task.schedule.delayed());
    BOOST_TEST((created.task.status == model::Status::running));
}

BOOST_AUTO_TEST_CASE(format3_carries_priority_and_not_before) {
    const model::Task t = scheduled_task();
    const auto created = decode_created(RecordType::task_created, journal::encode_task_created(t, std::string("k")));
    BOOST_TEST(int{created.task.schedule.priority} == 9);
    BOOST_TEST((created.task.schedule == t.schedule));
    BOOST_TEST(created.idempotency_key.value_or("") == "k");

    model::Task claimed = t;
    model::apply_claim(claimed, kAgent, t.schedule.not_before);
    auto change = journal::decode_change(RecordType::task_claimed, bytes_of(journal::encode_task_state(claimed)));
    BOOST_TEST_REQUIRE(change.has_value());
    BOOST_TEST((std::get<journal::TaskChanged>(*change).state.not_before == t.schedule.not_before));

    const journal::SnapshotTask one{&claimed, std::nullopt};
    auto snap = journal::decode_change(RecordType::snapshot_tasks,
                                       bytes_of(journal::encode_snapshot_tasks(std::span(&one, 1))));
    BOOST_TEST_REQUIRE(snap.has_value());
    const auto& back = std::get<journal::SnapshotTasks>(*snap).tasks.at(0).task;
    BOOST_TEST((back.schedule == t.schedule));
    BOOST_TEST((back.status == model::Status::running));
}

BOOST_AUTO_TEST_CASE(a_priority_past_nine_is_damage) {
    std::string bad = format2_task_created();
    journal::Encoder e(bad);
    e.u8(10);
    e.u8(0);
    BOOST_TEST(!journal::decode_change(RecordType::task_created, bytes_of(bad)).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
