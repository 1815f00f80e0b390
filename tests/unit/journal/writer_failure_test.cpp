// journal/writer failure: the Nth append or the Nth sync fails with EIO, for every N a small
// workload reaches (Beast's fail_count). After it the writer is unhealthy for good, says why,
// fails every waiter (of the failed record, of later ones, of one never appended), writes
// nothing more; and the directory recovers to a prefix holding at least every acknowledged
// record and no damaged one, after which a new writer carries on.
#include "journal/writer.hpp"
#include "temp_dir.hpp"
#include "writer_support.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

namespace {

using namespace taskd;
using journal::FsyncMode;
using journal::RecordType;
using test::payload;
using test::recover_all;
using test::TestStorage;
using test::Waiters;

std::map<std::string, std::uintmax_t> file_sizes(const std::filesystem::path& dir) {
    std::map<std::string, std::uintmax_t> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) out[entry.path().filename()] = entry.file_size();
    return out;
}

constexpr int kRecords = 5;
constexpr std::uint64_t kNeverAppended = 100;

// What the failure workload did: records acknowledged durable, and appended while healthy.
struct Done {
    bool opened = false;
    std::size_t acknowledged = 0, written = 0;
};

// Opens a writer (record 3 starts a new segment), appends kRecords one at a time, waiting for
// each; after a failure, checks that it is sticky and that every waiter is answered.
Done run_workload(TestStorage& storage, const std::filesystem::path& dir, bool expect_failure) {
    Done done;
    Waiters waiters;
    journal::Writer w(storage, {FsyncMode::always});
    done.opened = w.open(1).has_value();
    if (!done.opened) return done;  // the header's append or sync failed: taskd does not start
    w.rotate_at(3);
    waiters.watch(w, kNeverAppended);
    for (int i = 1; i <= kRecords; ++i) {
        const auto seq = w.append(RecordType::agent_seen, payload(0, i));
        BOOST_TEST_REQUIRE(seq == static_cast<std::uint64_t>(i));
        waiters.watch(w, seq);
        if (!w.wait_until_durable(seq)) break;
        ++done.acknowledged;
    }
    done.written = w.stats().records;
    BOOST_TEST_REQUIRE(w.healthy() == !expect_failure);
    if (!expect_failure) {
        w.close();
        waiters.run();
        BOOST_TEST(waiters.completions == kRecords + 1);
        for (int i = 1; i <= kRecords; ++i) BOOST_TEST(!waiters.results[static_cast<std::uint64_t>(i)]);
        BOOST_TEST(waiters.results[kNeverAppended].failed());  // answered at close, not dropped
        return done;
    }
    BOOST_TEST(done.written == done.acknowledged + 1);  // one record per batch: the failed one
    BOOST_TEST(w.failure().find("Input/output error") != std::string::npos, w.failure());
    const auto sizes = file_sizes(dir);
    const auto late = w.append(RecordType::agent_seen, payload(0, 99));
    waiters.watch(w, late);
    BOOST_TEST(!w.wait_until_durable(late));
    BOOST_TEST(w.stats().records == done.written);  // refused, not queued
    waiters.run();  // before close(): the failure itself answered every waiter
    BOOST_TEST(waiters.completions == static_cast<int>(late) + 1);
    for (std::uint64_t s = 1; s <= late; ++s)
        BOOST_TEST_CONTEXT("waiter of record " << s) {
            BOOST_TEST(waiters.results.at(s).failed() == (s > done.acknowledged));
        }
    BOOST_TEST(waiters.results.at(kNeverAppended).failed());
    w.close();
    BOOST_TEST(!w.healthy());
    BOOST_TEST((file_sizes(dir) == sizes));  // nothing written after the failure
    return done;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_writer_failure)

BOOST_AUTO_TEST_CASE(failing_the_nth_append_or_sync_is_sticky_and_loses_nothing_acknowledged) {
    // A dry run counts the operations the workload does; then each one fails in turn.
    int total_appends = 0, total_syncs = 0;
    {
        test::TempDir dir;
        auto posix = journal::make_posix_storage(dir.path());
        TestStorage storage(*posix);
        const Done done = run_workload(storage, dir.path(), false);
        BOOST_TEST_REQUIRE(done.acknowledged == static_cast<std::size_t>(kRecords));
        total_appends = storage.appends;
        total_syncs = storage.syncs;
        BOOST_TEST(recover_all(*posix).size() == static_cast<std::size_t>(kRecords));
    }
    BOOST_TEST(total_appends >= kRecords + 2);  // two headers, then the records
    for (const bool append_fails : {true, false}) {
        for (int n = 1; n <= (append_fails ? total_appends : total_syncs); ++n) {
            BOOST_TEST_CONTEXT((append_fails ? "append " : "sync ") << n << " fails") {
                test::TempDir dir;
                auto posix = journal::make_posix_storage(dir.path());
                TestStorage storage(*posix);
                (append_fails ? storage.fail_append : storage.fail_sync) = n;
                const Done done = run_workload(storage, dir.path(), n > 1);
                BOOST_TEST(done.opened == (n > 1));  // the first append and sync are the header's
                // Restart: recovery keeps a prefix, at least what was acknowledged; the half
                // written by a failed append is a torn tail.
                journal::RecoveryReport report;
                const auto recovered = recover_all(*posix, &report);
                BOOST_TEST(report.cuts.size() == (append_fails ? 1u : 0u));
                BOOST_TEST(recovered.size() >= done.acknowledged);
                BOOST_TEST(recovered.size() <= done.written);
                for (std::size_t k = 0; k < recovered.size(); ++k)
                    BOOST_TEST(recovered[k] == static_cast<std::int64_t>(k + 1));
                // and a new writer carries on after it.
                journal::Writer again(*posix, {FsyncMode::always});
                BOOST_TEST_REQUIRE(again.open(recovered.size() + 1).has_value());
                BOOST_TEST(again.wait_until_durable(again.append(RecordType::agent_seen, payload(0, 1000))));
                again.close();
                const auto after = recover_all(*posix, &report);
                BOOST_TEST(after.size() == recovered.size() + 1);
                BOOST_TEST(report.cuts.empty());
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
