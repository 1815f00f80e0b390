#include "server/server_metrics.hpp"

#include "metrics/text_format.hpp"

#include <algorithm>
#include <chrono>

namespace taskd::server {

void ServerMetrics::recovered(double seconds, std::int64_t snapshot_unix_micros, const Maintenance& maintenance) {
    recovery_seconds_.store(seconds, std::memory_order_relaxed);
    recovered_snapshot_unix_micros_.store(snapshot_unix_micros, std::memory_order_relaxed);
    maintenance_.store(&maintenance, std::memory_order_release);
}

void ServerMetrics::write(std::string& m) const {
    using metrics::write_family;
    using metrics::write_sample;
    write_family(m, "taskd_build_info", "gauge", "Always 1; the labels say which taskd this is.");
    write_sample(m, "taskd_build_info", "version=\"" TASKD_VERSION "\"", std::uint64_t{1});

    requests_.write(m);
    write_family(m, "taskd_http_connections_open", "gauge", "Client connections open now.");
    write_sample(m, "taskd_http_connections_open", "", static_cast<std::uint64_t>(listener_.connection_count()));

    if (!writer_) return;
    const journal::WriterStats journal = writer_->stats();
    write_family(m, "taskd_journal_records_total", "counter", "Journal records written by this process.");
    write_sample(m, "taskd_journal_records_total", "", journal.records);
    write_family(m, "taskd_journal_bytes_total", "counter", "Journal bytes written by this process.");
    write_sample(m, "taskd_journal_bytes_total", "", journal.bytes);
    write_family(m, "taskd_journal_fsyncs_total", "counter", "fdatasync calls on the journal by this process.");
    write_sample(m, "taskd_journal_fsyncs_total", "", journal.syncs);
    write_family(m, "taskd_journal_fsync_duration_seconds", "histogram", "How long each journal fdatasync took.");
    std::array<std::uint64_t, metrics::Histogram::kBounds.size() + 1> buckets{};
    std::uint64_t sum_ns = 0;
    writer_->sync_durations().add_to(buckets, sum_ns);
    metrics::write_histogram(m, "taskd_journal_fsync_duration_seconds", "", buckets, sum_ns);
    write_family(m, "taskd_journal_healthy", "gauge",
                 "1 while the journal takes changes; 0 after a failed write or sync (changes get 503 until a restart).");
    write_sample(m, "taskd_journal_healthy", "", std::uint64_t{writer_->healthy() ? 1u : 0u});

    const Maintenance* maintenance = maintenance_.load(std::memory_order_acquire);
    if (!maintenance) return;
    const SnapshotStats snapshots = maintenance->snapshot_stats();
    write_family(m, "taskd_snapshots_written_total", "counter", "Snapshots written by this process.");
    write_sample(m, "taskd_snapshots_written_total", "", snapshots.written);
    const std::int64_t last = std::max(snapshots.last_unix_micros, recovered_snapshot_unix_micros_.load());
    write_family(m, "taskd_snapshot_age_seconds", "gauge",
                 "Time since the newest snapshot was written (absent while there is none).");
    if (last > 0) {
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        write_sample(m, "taskd_snapshot_age_seconds", "", static_cast<double>(std::max<std::int64_t>(0, now - last)) / 1e6);
    }
    write_family(m, "taskd_snapshot_duration_seconds", "gauge",
                 "How long the last snapshot of this process took to capture and write (absent before one).");
    if (snapshots.written > 0)
        write_sample(m, "taskd_snapshot_duration_seconds", "", static_cast<double>(snapshots.last_duration_micros) / 1e6);
    write_family(m, "taskd_recovery_duration_seconds", "gauge",
                 "How long this process took to load its snapshot and replay its journal at start.");
    write_sample(m, "taskd_recovery_duration_seconds", "", recovery_seconds_.load(std::memory_order_relaxed));
}

}  // namespace taskd::server
