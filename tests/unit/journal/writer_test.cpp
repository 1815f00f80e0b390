// journal/writer: group commit (records that queue during a sync share the next one, checked
// with a gate inside the sync rather than with timing), racing appends from several threads,
// segment rotation by rotate_at() and by size, what each fsync mode syncs, and the writer
// thread's scheduling policy.
#include "journal/writer.hpp"
#include "temp_dir.hpp"
#include "writer_support.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

namespace {

using namespace taskd;
using journal::FsyncMode;
using journal::RecordType;
using journal::segment_name;
using test::payload;
using test::read_segment;
using test::recover_all;
using test::TestStorage;
using test::Waiters;

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_writer)

BOOST_AUTO_TEST_CASE(records_that_arrive_during_a_sync_share_the_next_one) {
    test::TempDir dir;
    auto posix = journal::make_posix_storage(dir.path());
    TestStorage storage(*posix);
    journal::Writer w(storage, {FsyncMode::always});
    BOOST_TEST_REQUIRE(w.open(1).has_value());
    storage.arm_gate();
    BOOST_TEST(w.append(RecordType::agent_seen, payload(0, 1)) == 1u);
    storage.wait_until_held();  // the writer thread is inside record 1's fdatasync
    constexpr int kThreads = 4, kEach = 50;
    std::vector<std::thread> threads;
    for (int t = 1; t <= kThreads; ++t)
        threads.emplace_back([&w, t] {
            for (int i = 1; i <= kEach; ++i) w.append(RecordType::agent_seen, payload(t, i));
        });
    for (auto& t : threads) t.join();
    storage.release();
    BOOST_TEST_REQUIRE(w.wait_until_durable(1 + kThreads * kEach));
    const auto stats = w.stats();
    BOOST_TEST(stats.records == 1u + kThreads * kEach);
    BOOST_TEST(stats.batches == 2u);  // record 1, then everything that queued behind its sync
    BOOST_TEST(stats.syncs == 2u);
    w.close();

    const auto segment = read_segment(*posix, segment_name(1));
    BOOST_TEST(segment.records.size() == 1u + kThreads * kEach);
    std::map<std::uint8_t, std::int64_t> last_of_thread;
    for (std::size_t k = 0; k < segment.records.size(); ++k) {
        const auto& [seq, seen] = segment.records[k];
        BOOST_TEST(seq == k + 1);
        const std::int64_t i = model::to_micros(seen.at);
        BOOST_TEST(i == last_of_thread[seen.id.data[0]] + 1);  // each thread's records in its order
        last_of_thread[seen.id.data[0]] = i;
    }
}

BOOST_AUTO_TEST_CASE(the_writer_thread_is_sched_batch_unless_every_change_is_synced) {
    // The sync at close() runs on the writer thread; open() syncs the segment header on the
    // calling thread, under the test's own policy, which a thread it starts inherits.
    const int inherited = sched_getscheduler(0);
    BOOST_TEST_REQUIRE(inherited != SCHED_BATCH);  // else the never and interval cases prove nothing
    const std::pair<FsyncMode, int> cases[] = {
        {FsyncMode::never, SCHED_BATCH}, {FsyncMode::interval, SCHED_BATCH}, {FsyncMode::always, inherited}};
    for (const auto& [mode, policy] : cases) {
        BOOST_TEST_CONTEXT("fsync mode " << static_cast<int>(mode)) {
            test::TempDir dir;
            auto posix = journal::make_posix_storage(dir.path());
            TestStorage storage(*posix);
            journal::Writer w(storage, {mode});
            BOOST_TEST_REQUIRE(w.open(1).has_value());
            BOOST_TEST(storage.last_sync_policy == inherited);
            BOOST_TEST_REQUIRE(w.wait_until_durable(w.append(RecordType::agent_seen, payload(0, 1))));
            w.close();
            BOOST_TEST(storage.last_sync_policy == policy);
        }
    }
}

BOOST_AUTO_TEST_CASE(racing_appends_are_all_durable_in_one_segment_in_order) {
    test::TempDir dir;
    auto storage = journal::make_posix_storage(dir.path());
    journal::Writer w(*storage, {FsyncMode::always});
    BOOST_TEST_REQUIRE(w.open(1).has_value());
    Waiters waiters;
    std::mutex watch_mutex;  // Waiters is not thread-safe; the writer is
    constexpr int kThreads = 4, kEach = 100;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 1; i <= kEach; ++i) {
                const auto seq = w.append(RecordType::agent_seen, payload(t, i));
                std::lock_guard lock(watch_mutex);
                waiters.watch(w, seq);
            }
        });
    for (auto& t : threads) t.join();
    BOOST_TEST_REQUIRE(w.wait_until_durable(kThreads * kEach));
    waiters.run();
    BOOST_TEST(waiters.completions == kThreads * kEach);
    for (const auto& [seq, ec] : waiters.results) BOOST_TEST(!ec, "record " << seq << ": " << ec.message());
    const auto stats = w.stats();
    BOOST_TEST(stats.records == static_cast<std::uint64_t>(kThreads * kEach));
    BOOST_TEST(stats.syncs <= stats.batches);
    BOOST_TEST(stats.batches <= stats.records);
    BOOST_TEST(w.durable_sequence() == static_cast<std::uint64_t>(kThreads * kEach));
    w.close();
    BOOST_TEST(storage->list().value().size() == 1u);
    const auto segment = read_segment(*storage, segment_name(1));
    BOOST_TEST(segment.records.size() == static_cast<std::size_t>(kThreads * kEach));
    std::map<std::uint8_t, std::int64_t> last_of_thread;
    for (std::size_t k = 0; k < segment.records.size(); ++k) {
        const auto& [seq, seen] = segment.records[k];
        BOOST_TEST(seq == k + 1);
        BOOST_TEST(model::to_micros(seen.at) == ++last_of_thread[seen.id.data[0]]);
    }
}

BOOST_AUTO_TEST_CASE(rotate_at_starts_a_segment_exactly_there) {
    test::MemoryStorage memory;
    TestStorage storage(memory);
    journal::Writer w(storage, {FsyncMode::always});
    BOOST_TEST_REQUIRE(w.open(1).has_value());
    for (int i = 1; i <= 3; ++i)
        BOOST_TEST_REQUIRE(w.wait_until_durable(w.append(RecordType::agent_seen, payload(0, i))));
    w.rotate_at(4);
    w.rotate_at(2);  // already assigned: ignored
    // Records 5..9 reach the writer in one batch (it is held in record 4's sync) with a rotation
    // at 7 inside it, which splits the batch across two segments.
    storage.arm_gate();
    w.append(RecordType::agent_seen, payload(0, 4));
    storage.wait_until_held();
    for (int i = 5; i <= 9; ++i) {
        if (i == 7) w.rotate_at(7);
        w.append(RecordType::agent_seen, payload(0, i));
    }
    storage.release();
    BOOST_TEST_REQUIRE(w.wait_until_durable(9));
    w.close();
    BOOST_TEST(w.stats().batches == 5u);
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> expected = {{1, 3}, {4, 6}, {7, 9}};
    BOOST_TEST(memory.list().value().size() == expected.size());
    for (const auto& [first, last] : expected) {
        BOOST_TEST_CONTEXT("segment " << first) {
            const auto segment = read_segment(memory, segment_name(first));
            BOOST_TEST(segment.first == first);
            BOOST_TEST_REQUIRE(segment.records.size() == last - first + 1);
            for (std::size_t k = 0; k < segment.records.size(); ++k) BOOST_TEST(segment.records[k].first == first + k);
        }
    }
    BOOST_TEST(recover_all(memory) == (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

BOOST_AUTO_TEST_CASE(rotate_at_the_first_sequence_after_open_is_harmless) {
    // open(5) already started journal-5 at record 5: asking for a new segment there must not
    // make the writer create that file a second time.
    test::MemoryStorage storage;
    journal::Writer w(storage, {FsyncMode::always});
    BOOST_TEST_REQUIRE(w.open(5).has_value());
    w.rotate_at(5);
    const auto seq = w.append(RecordType::agent_seen, payload(0, 5));
    BOOST_TEST(seq == 5u);
    BOOST_TEST(w.wait_until_durable(seq));
    BOOST_TEST(w.healthy(), w.failure());
    w.close();
    const auto segment = read_segment(storage, segment_name(5));
    BOOST_TEST(segment.records.size() == 1u);
    BOOST_TEST(storage.list().value().size() == 1u);
}

BOOST_AUTO_TEST_CASE(every_mode_writes_before_answering_and_syncs_at_rotation_and_close) {
    // writer.hpp: a waiter completes only once its record is in the file, in every mode; with
    // `never` data is synced "only at rotation and close", so no segment is closed unsynced.
    for (const auto mode : {FsyncMode::always, FsyncMode::interval, FsyncMode::never}) {
        BOOST_TEST_CONTEXT("fsync mode " << static_cast<int>(mode)) {
            test::MemoryStorage memory;
            TestStorage storage(memory);
            {
                journal::WriterOptions options;
                options.fsync = mode;
                options.fsync_interval = std::chrono::hours(1);  // no timed sync during the test
                options.segment_bytes = 100;
                journal::Writer w(storage, options);
                BOOST_TEST_REQUIRE(w.open(1).has_value());
                for (int i = 1; i <= 10; ++i) {
                    BOOST_TEST_REQUIRE(w.wait_until_durable(w.append(RecordType::agent_seen, payload(0, i))));
                    std::size_t in_files = 0;
                    for (const auto& name : memory.list().value())
                        in_files += read_segment(memory, name).records.size();
                    BOOST_TEST(in_files == static_cast<std::size_t>(i));
                }
                w.close();
                BOOST_TEST(memory.list().value().size() >= 4u);
            }
            BOOST_TEST(storage.closed_unsynced == 0);
        }
    }
}

BOOST_AUTO_TEST_CASE(small_segment_bytes_make_several_segments) {
    test::MemoryStorage storage;
    journal::WriterOptions options;
    options.fsync = FsyncMode::never;
    options.segment_bytes = 150;  // about three records of 41 bytes after the 24-byte header
    journal::Writer w(storage, options);
    BOOST_TEST_REQUIRE(w.open(1).has_value());
    constexpr int kCount = 20;
    for (int i = 1; i <= kCount; ++i)
        BOOST_TEST_REQUIRE(w.wait_until_durable(w.append(RecordType::agent_seen, payload(0, i))));
    w.close();
    const auto names = storage.list().value();  // sorted: the names' numbers have 20 digits
    BOOST_TEST(names.size() >= 5u);
    std::uint64_t next = 1;
    for (std::size_t n = 0; n < names.size(); ++n) {
        BOOST_TEST_CONTEXT(names[n]) {
            const auto segment = read_segment(storage, names[n]);
            BOOST_TEST(names[n] == segment_name(next));
            BOOST_TEST(segment.first == next);
            for (const auto& [seq, seen] : segment.records) BOOST_TEST(seq == next++);
            if (n + 1 < names.size()) {  // full: past the limit, but not before its last record
                BOOST_TEST(segment.size >= options.segment_bytes);
                BOOST_TEST(segment.size - segment.last_record_size < options.segment_bytes);
            }
        }
    }
    BOOST_TEST(next == kCount + 1u);
    journal::RecoveryReport report;
    BOOST_TEST(recover_all(storage, &report).size() == static_cast<std::size_t>(kCount));
    BOOST_TEST(report.segments.size() == names.size());
}

namespace {

// A segment as a killed writer leaves it: header, records first..last (agent_seen of writer 0),
// then `zeros` bytes of its reservation.
std::string killed_segment(std::uint64_t first, std::uint64_t last, std::size_t zeros) {
    std::string bytes = journal::file_header(journal::kSegmentMagic, first);
    for (std::uint64_t i = first; i <= last; ++i)
        journal::append_record(bytes, RecordType::agent_seen, i, payload(0, static_cast<std::int64_t>(i)));
    return bytes + std::string(zeros, '\0');
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::vector<std::string> sorted_names(journal::Storage& storage) {
    auto names = storage.list().value();
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::int64_t> counting(std::int64_t from, std::int64_t to) {
    std::vector<std::int64_t> out;
    for (std::int64_t i = from; i <= to; ++i) out.push_back(i);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_clean_close_gives_back_the_unused_reservation) {
    test::TempDir dir;
    auto storage = journal::make_posix_storage(dir.path());
    journal::WriterOptions options;
    options.segment_bytes = 1 << 20;
    journal::Writer w(*storage, options);
    BOOST_TEST_REQUIRE(w.open(1).has_value());
    for (int i = 1; i <= 3; ++i) BOOST_TEST_REQUIRE(w.wait_until_durable(w.append(RecordType::agent_seen, payload(0, i))));
    const auto reserved = storage->space(segment_name(1)).value();
    w.close();
    const auto closed = storage->space(segment_name(1)).value();
    const auto segment = read_segment(*storage, segment_name(1));
    BOOST_TEST(segment.records.size() == 3u);
    BOOST_TEST(closed.size == segment.size);  // the file ends with its last record
    BOOST_TEST(closed.allocated < options.segment_bytes);
    // Where the filesystem reserves at all (fallocate), the reservation was there before close.
    BOOST_TEST((reserved.size == options.segment_bytes || reserved.size == segment.size));
    BOOST_TEST(recover_all(*storage) == counting(1, 3));
}

BOOST_AUTO_TEST_CASE(a_start_continues_the_last_segment_where_its_records_end) {
    // After kill -9 (zeros follow the records) and after a clean close (nothing follows), the
    // next start appends to the same file: one segment, however many starts.
    for (const std::size_t zeros : {std::size_t{0}, std::size_t{1} << 16}) {
        BOOST_TEST_CONTEXT(zeros << " zeros after the records") {
            test::TempDir dir;
            write_file(dir.path() / segment_name(1), killed_segment(1, 3, zeros));
            auto storage = journal::make_posix_storage(dir.path());
            journal::RecoveryReport report;
            BOOST_TEST_REQUIRE(recover_all(*storage, &report) == counting(1, 3));
            BOOST_TEST_REQUIRE(report.segments.size() == 1u);
            const auto last = report.segments.back();
            BOOST_TEST(last.next_sequence == 4u);
            BOOST_TEST(last.file_bytes == last.used_bytes + zeros);

            journal::WriterOptions options;
            options.segment_bytes = 1 << 20;
            {
                journal::Writer w(*storage, options);
                BOOST_TEST_REQUIRE(w.open(4, last).has_value());
                // Continued, so reserved again where the filesystem can.
                const auto space = storage->space(segment_name(1)).value();
                BOOST_TEST((space.size == options.segment_bytes || space.size == last.used_bytes));
                for (int i = 4; i <= 6; ++i)
                    BOOST_TEST_REQUIRE(w.wait_until_durable(w.append(RecordType::agent_seen, payload(0, i))));
            }
            BOOST_TEST(sorted_names(*storage) == std::vector<std::string>{segment_name(1)});
            const auto segment = read_segment(*storage, segment_name(1));
            BOOST_TEST(segment.records.size() == 6u);
            BOOST_TEST(storage->space(segment_name(1)).value().size == segment.size);
            BOOST_TEST(recover_all(*storage) == counting(1, 6));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_segment_that_cannot_take_the_next_record_is_trimmed_and_left) {
    // The last segment ends with a reservation; the writer starts a new one instead when
    // appending there would make a gap (a snapshot holds records 4 and 5, which its journal
    // lost: `never` and a power cut), or when the segment is full.
    struct Case {
        const char* what;
        std::uint64_t records;        // in the last segment, from 1
        std::uint64_t next;           // the writer's first sequence
        std::uint64_t segment_bytes;
        std::uint64_t snapshot = 0;   // the newest snapshot's sequence
    };
    // Or a snapshot covers records of it: continued, recovery would scan them at every start.
    for (const Case& c : {Case{"sequence gap", 3, 6, 1 << 20}, Case{"segment full", 100, 101, 4096},
                          Case{"covered by a snapshot", 3, 4, 1 << 20, 2}}) {
        BOOST_TEST_CONTEXT(c.what) {
            test::TempDir dir;
            const std::string records = killed_segment(1, c.records, 0);
            BOOST_TEST_REQUIRE((c.next != c.records + 1 || records.size() >= c.segment_bytes || c.snapshot > 0));
            write_file(dir.path() / segment_name(1), records + std::string(8192, '\0'));
            auto storage = journal::make_posix_storage(dir.path());
            journal::RecoveryReport report;
            BOOST_TEST_REQUIRE(recover_all(*storage, &report).size() == c.records);
            journal::WriterOptions options;
            options.segment_bytes = c.segment_bytes;
            {
                journal::Writer w(*storage, options);
                BOOST_TEST_REQUIRE(w.open(c.next, report.segments.back(), c.snapshot).has_value());
                const auto seq = w.append(RecordType::agent_seen, payload(0, static_cast<std::int64_t>(c.next)));
                BOOST_TEST_REQUIRE(w.wait_until_durable(seq));
            }
            BOOST_TEST(sorted_names(*storage) == (std::vector<std::string>{segment_name(1), segment_name(c.next)}));
            BOOST_TEST(storage->space(segment_name(1)).value().size == records.size());  // zeros given back
            BOOST_TEST(read_segment(*storage, segment_name(c.next)).records.size() == 1u);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
