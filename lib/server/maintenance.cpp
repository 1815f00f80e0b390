#include "server/maintenance.hpp"

#include "journal/recovery.hpp"
#include "journal/snapshot.hpp"
#include "util/log.hpp"

#include <malloc.h>

namespace taskd::server {
namespace {

// One tasks_purged record drops at most this many tasks, so that a purge holds the store's
// lock briefly; a backlog is worked off over several rounds.
constexpr std::size_t kPurgeBatch = 10'000;

double millis_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Maintenance::Maintenance(store::Store& store, journal::Writer& writer, journal::Storage& storage,
                         const model::Clock& clock, MaintenanceConfig config, JournalSinceSnapshot recovered)
    : store_(store),
      writer_(writer),
      storage_(storage),
      clock_(clock),
      config_(config),
      last_snapshot_sequence_(recovered.snapshot_sequence),
      bytes_before_start_(recovered.bytes) {}

Maintenance::~Maintenance() { stop(); }

void Maintenance::start() {
    bytes_at_last_snapshot_ = writer_.stats().bytes;
    thread_ = std::thread([this] { run(); });
}

void Maintenance::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Maintenance::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, config_.interval, [this] { return stopping_; })) {
        lock.unlock();
        if (writer_.healthy()) {
            expire_leases();
            purge();
            snapshot_if_due();
        }
        // What this pass and the requests since the last freed (a burst's lease entries and
        // queue arrays, a snapshot's buffers, purged tasks) glibc keeps for the process unless
        // told; given back, RSS follows what the store holds (doc/design.md, "Memory per
        // task": 27 bytes a task after a million lifecycles in one burst). About 0.1 ms when
        // there is nothing to give back, 2 ms after that burst.
        ::malloc_trim(0);
        lock.lock();
    }
}

void Maintenance::expire_leases() {
    const auto expired = store_.expire_leases();
    if (expired.value > 0)
        util::log_info("leases: " + std::to_string(expired.value) + " ran out; their tasks were re-queued or failed");
}

void Maintenance::purge() {
    const auto cutoff = clock_.now() - std::chrono::duration_cast<std::chrono::microseconds>(config_.retain);
    for (;;) {
        const auto purged = store_.purge_finished(cutoff, kPurgeBatch);
        if (purged.value == 0) return;
        if (!writer_.wait_until_durable(purged.sequence)) return;
        util::log_info("retention: dropped " + std::to_string(purged.value) + " finished tasks older than --retain");
        if (purged.value < kPurgeBatch) return;
    }
}

std::size_t Maintenance::segment_count() {
    auto names = storage_.list();
    if (!names) return 0;  // a directory that cannot be listed makes no snapshot due
    std::size_t n = 0;
    for (const auto& name : *names)
        if (journal::parse_segment_name(name)) ++n;
    return n;
}

void Maintenance::snapshot_if_due() {
    const std::uint64_t records = writer_.last_sequence() - last_snapshot_sequence_;
    const std::uint64_t bytes = bytes_before_start_ + writer_.stats().bytes - bytes_at_last_snapshot_;
    if (records == 0) return;
    std::string due;
    if (records >= config_.snapshot_every_records) due = std::to_string(records) + " records";
    else if (bytes >= config_.snapshot_every_bytes) due = std::to_string(bytes) + " journal bytes";
    else if (const auto segments = segment_count(); segments >= config_.snapshot_every_segments)
        due = std::to_string(segments) + " segments";
    else return;

    const auto capture_start = std::chrono::steady_clock::now();
    journal::SnapshotData data = store_.capture([this](std::uint64_t sequence) { writer_.rotate_at(sequence + 1); });
    const double pause_ms = static_cast<double>(data.pause.count()) / 1000.0;

    // The snapshot must not hold a change the journal might still lose.
    if (!writer_.wait_until_durable(data.sequence)) return;
    const auto write_start = std::chrono::steady_clock::now();
    auto written = journal::write_snapshot(storage_, data);
    if (!written) {
        util::log_error("snapshot at record " + std::to_string(data.sequence) + " failed: " + written.error().message() +
                        "; the journal keeps everything, will retry");
        return;
    }
    last_snapshot_sequence_ = data.sequence;
    last_snapshot_unix_micros_.store(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
        std::memory_order_relaxed);
    last_snapshot_duration_micros_.store(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - capture_start).count(),
        std::memory_order_relaxed);
    snapshots_written_.fetch_add(1, std::memory_order_relaxed);
    bytes_before_start_ = 0;
    bytes_at_last_snapshot_ = writer_.stats().bytes;
    char line[320];
    std::snprintf(line, sizeof line,
                  "snapshot at record %llu (due: %s): %zu tasks, %zu agents, %llu bytes; writers paused %.1f ms, "
                  "written in %.1f ms; removed %zu segments",
                  static_cast<unsigned long long>(data.sequence), due.c_str(), data.task_count, data.agents.size(),
                  static_cast<unsigned long long>(written->bytes), pause_ms, millis_since(write_start),
                  written->segments_removed);
    util::log_info(line);
}

}  // namespace taskd::server
