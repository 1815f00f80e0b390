// store/task_table and store/type_names: slots kept for a snapshot after their task is purged,
// and task types that go with the last task that names them.
#include "store_fixture.hpp"

#include "store/type_names.hpp"

#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

namespace {

using namespace taskd;
using model::Status;

const model::Uuid kTenant = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");

}  // namespace

BOOST_FIXTURE_TEST_SUITE(task_table, test::StoreFixture)

// The capture copies pointers to slots and versions; the file is written from them after the
// store's lock is let go. A purge in between must not free what the snapshot still reads (under
// AddressSanitizer a freed slot is poisoned: reading it aborts the test).
BOOST_AUTO_TEST_CASE(a_snapshot_reads_tasks_purged_after_its_capture) {
    const model::Agent agent = this->agent(kTenant);
    std::set<std::string> expected;
    for (const char* type : {"FIRST", "SECOND", "THIRD"}) {
        const model::Task created = create(kTenant, type);
        BOOST_TEST_REQUIRE(claim(agent).value().has_value());
        BOOST_TEST_REQUIRE(patch(created.id, {Status::completed, model::make_json_text(R"({"ok":true})")}, agent).has_value());
        expected.insert(model::to_string(created.id) + " " + type + " completed {\"ok\":true}");
    }
    const auto data = store.capture([](std::uint64_t) {});
    BOOST_TEST_REQUIRE(data.task_count == 3u);

    tick(std::chrono::hours(1));
    BOOST_TEST_REQUIRE(store.purge_finished(clock.now(), 100).value == 3u);
    BOOST_TEST(store.task_count() == 0u);

    std::set<std::string> read;
    for (std::size_t i = 0; i < data.task_count; ++i) {
        model::Task t;
        std::optional<std::string> key;
        data.read_task(i, t, key);
        read.insert(model::to_string(t.id) + " " + t.type + " " + std::string(model::to_string(t.status)) + " " +
                    std::string(*t.result));
    }
    BOOST_TEST(read == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_type_goes_with_the_last_task_that_names_it) {
    store::TypeNames types;
    const auto* a = types.acquire("FILE_WRITE");
    BOOST_TEST(types.acquire("FILE_WRITE") == a);  // one name, shared
    const auto* b = types.acquire("ENV_UPDATE");
    BOOST_TEST(a->first == "FILE_WRITE");
    BOOST_TEST(b->first == "ENV_UPDATE");
    BOOST_TEST(types.size() == 2u);

    types.release(a);
    BOOST_TEST(types.size() == 2u);  // one task still names it
    types.release(a);
    BOOST_TEST(types.size() == 1u);
    types.release(b);
    BOOST_TEST(types.size() == 0u);
    // A name made again after it went is a new entry (not a dangling "last one used").
    BOOST_TEST(types.acquire("FILE_WRITE")->first == "FILE_WRITE");
    BOOST_TEST(types.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
