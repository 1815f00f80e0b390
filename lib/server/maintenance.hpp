// Maintenance: the server's background upkeep, on a thread of its own (never a request's).
//
// - Snapshots: once --snapshot-every-records records or --snapshot-every-bytes bytes have been
//   journaled since the last one (counted from the snapshot on disk, across restarts), or the
//   data directory holds --snapshot-every-segments journal segments, capture the state (a pause
//   for writers, measured and logged), wait until the journal holds everything the capture
//   includes, write the snapshot, and let it remove the segments it covers.
// - Leases: release running tasks whose lease ran out (checked every --maintenance-interval).
// - Retention: drop completed and failed tasks older than --retain.
#pragma once

#include "journal/storage.hpp"
#include "journal/writer.hpp"
#include "model/time.hpp"
#include "store/store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace taskd::server {

struct MaintenanceConfig {
    std::uint64_t snapshot_every_records = 500'000;
    std::uint64_t snapshot_every_bytes = 256ull << 20;
    // Segments are files, each up to --segment-bytes allocated: a count bounds what the journal
    // takes on disk whatever made the segments (4 of 64 MiB pass the bytes threshold, so with
    // the defaults this fires only where segments piled up some other way).
    std::uint64_t snapshot_every_segments = 8;
    std::chrono::milliseconds retain{std::chrono::hours{24 * 7}};
    std::chrono::milliseconds interval{std::chrono::seconds{1}};  // how often to look
};

// What the journal held past the newest snapshot at start, so that the thresholds count from
// that snapshot and not from this start (a server restarted often would otherwise never reach
// them).
struct JournalSinceSnapshot {
    std::uint64_t snapshot_sequence = 0;  // 0: no snapshot
    std::uint64_t bytes = 0;              // of the records after it
};

// What GET /metrics shows of snapshots written by this process.
struct SnapshotStats {
    std::int64_t last_unix_micros = 0;      // when the last one was written; 0: none yet
    std::int64_t last_duration_micros = 0;  // capture and write
    std::uint64_t written = 0;
};

class Maintenance {
public:
    Maintenance(store::Store& store, journal::Writer& writer, journal::Storage& storage, const model::Clock& clock,
                MaintenanceConfig config, JournalSinceSnapshot recovered);
    ~Maintenance();
    void start();
    void stop();
    SnapshotStats snapshot_stats() const {
        return {last_snapshot_unix_micros_.load(std::memory_order_relaxed),
                last_snapshot_duration_micros_.load(std::memory_order_relaxed),
                snapshots_written_.load(std::memory_order_relaxed)};
    }

private:
    void run();
    void snapshot_if_due();
    void expire_leases();
    void purge();

    store::Store& store_;
    journal::Writer& writer_;
    journal::Storage& storage_;
    const model::Clock& clock_;
    const MaintenanceConfig config_;
    std::size_t segment_count();

    std::uint64_t last_snapshot_sequence_;
    std::uint64_t bytes_before_start_;  // journaled since the last snapshot, before this start
    std::uint64_t bytes_at_last_snapshot_ = 0;
    std::atomic<std::int64_t> last_snapshot_unix_micros_{0};
    std::atomic<std::int64_t> last_snapshot_duration_micros_{0};
    std::atomic<std::uint64_t> snapshots_written_{0};

    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace taskd::server
