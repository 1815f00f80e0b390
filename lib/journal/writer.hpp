// Writer: the journal's single appender, with group commit (LevelDB DBImpl::Write manner).
//
// append() (called under the store's lock) frames a record into the pending buffer and returns
// its sequence number at once. The writer thread takes everything pending, writes it with one
// write(2), then — with --fsync=always — one fdatasync, and only then completes every waiter of
// that batch. Records that arrive while a sync runs join the next batch, so one fdatasync serves
// many requests. With `interval` the data is synced every --fsync-interval, with `never` only
// when a segment is left and at close; in every mode a waiter completes only after its record has been written
// to the file, so a killed process (kill -9) loses nothing that was answered.
//
// Failure is sticky (LevelDB RecordBackgroundError, redis aof.c): after a failed write or sync
// the file's tail is unknown, so the writer stops, fails every waiter and every later record,
// and healthy() stays false until a restart, whose recovery cuts whatever half record was left.
//
// Segments: journal-<first-seq>.log, each opened with a header (doc/journal_format.md). A new
// one starts when the current passes `segment_bytes`, or at a sequence number that rotate_at()
// names (the first record after a snapshot), so covered segments can be deleted whole. A start
// continues the last segment where its records end when it can (open()), rather than leaving
// it and its reservation behind; a clean close gives the reservation back (AppendFile::trim),
// so the files on disk follow the data, not the number of starts.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include "journal/change_log.hpp"
#include "journal/storage.hpp"
#include "metrics/histogram.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace taskd::journal {

enum class FsyncMode { always, interval, never };

struct WriterOptions {
    FsyncMode fsync = FsyncMode::always;
    std::chrono::milliseconds fsync_interval{100};
    // Bounds how much one segment holds (and how much a torn-tail scan may read): 64 MiB.
    std::uint64_t segment_bytes = 64ull << 20;
    // Tests only (--debug-skip-journal-write): records are dropped instead of written, yet
    // every waiter is told its record is durable: a deliberately broken server, which proves
    // that the crash test notices lost changes. Never for real data.
    bool debug_skip_write = false;
};

struct WriterStats {
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t batches = 0;
    std::uint64_t syncs = 0;
    std::uint64_t sync_micros_total = 0;
    std::uint64_t sync_micros_max = 0;
};

std::string segment_name(std::uint64_t first_sequence);

// A segment as recovery read it (and left it: a torn tail already cut).
struct SegmentInfo {
    std::string name;
    std::uint64_t first_sequence = 0;
    std::uint64_t used_bytes = 0;     // its header and whole records; 0: the file was removed
    std::uint64_t file_bytes = 0;     // its size, with any reservation left past used_bytes
    std::uint64_t next_sequence = 0;  // the sequence number a record appended to it would need
};

class Writer final : public ChangeLog {
public:
    Writer(Storage& storage, WriterOptions options);
    ~Writer() override;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Starts the writer thread, appending record `next_sequence` on to `last` (the newest
    // segment, as recovery left it) when that segment ends with record next_sequence - 1, is
    // below segment_bytes and starts after `snapshot_sequence` (the newest snapshot's: a segment
    // it covers is left whole, for recovery to skip and the next snapshot to delete); otherwise
    // trims `last`'s unused reservation and starts a new segment.
    IoResult<> open(std::uint64_t next_sequence, const std::optional<SegmentInfo>& last = std::nullopt,
                    std::uint64_t snapshot_sequence = 0);
    // Writes and syncs everything pending, gives back the segment's unused reservation, then
    // stops the thread. Idempotent.
    void close();

    std::uint64_t append(RecordType type, std::string_view payload) override;
    std::uint64_t last_sequence() const override;
    bool healthy() const override { return healthy_.load(std::memory_order_acquire); }
    void wait_durable(std::uint64_t sequence, DurableWaiter waiter) override;

    // The record with this sequence number (not yet appended) starts a new segment.
    void rotate_at(std::uint64_t sequence);

    std::uint64_t durable_sequence() const;
    // Blocks until record `sequence` is durable (true) or the writer has failed or stopped
    // (false). For the maintenance thread; never call it from a request's coroutine.
    bool wait_until_durable(std::uint64_t sequence);
    std::string failure() const override;
    WriterStats stats() const;
    // Every fdatasync's duration, for GET /metrics.
    const metrics::Histogram& sync_durations() const { return sync_durations_; }

private:
    struct Batch {
        std::string bytes;
        std::uint64_t first = 0;
        std::uint64_t last = 0;
        std::optional<std::size_t> split;  // offset of the record that starts a new segment
        std::uint64_t split_sequence = 0;
    };

    void run();
    IoResult<> write_batch(const Batch& batch);
    IoResult<> start_segment(std::uint64_t first_sequence);
    IoResult<> continue_segment(const SegmentInfo& last);
    IoResult<> sync_current();
    void fail(const std::string& reason);
    void complete_up_to(std::uint64_t sequence, std::unique_lock<std::mutex>& lock);

    Storage& storage_;
    const WriterOptions options_;

    mutable std::mutex mutex_;
    std::condition_variable work_;
    std::condition_variable durable_changed_;
    Batch pending_;
    std::uint64_t last_assigned_ = 0;
    std::uint64_t durable_ = 0;
    std::optional<std::uint64_t> rotate_at_;
    std::multimap<std::uint64_t, DurableWaiter> waiters_;
    bool stopping_ = false;
    std::string failure_;
    std::atomic<bool> healthy_{true};
    WriterStats stats_;
    metrics::Histogram sync_durations_;

    // Owned by the writer thread (and by open() before it starts).
    std::unique_ptr<AppendFile> segment_;
    std::uint64_t segment_first_ = 0;
    std::uint64_t segment_size_ = 0;
    bool unsynced_ = false;
    std::chrono::steady_clock::time_point last_sync_;
    std::thread thread_;
};

}  // namespace taskd::journal
