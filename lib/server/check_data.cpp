#include "server/check_data.hpp"

#include "journal/change_log.hpp"
#include "journal/recovery.hpp"
#include "store/store.hpp"

namespace taskd::server {

int check_data(const std::filesystem::path& dir, std::ostream& out) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        out << "taskd: --check-data " << dir.string() << ": not a directory\n";
        return 2;
    }
    auto storage = journal::make_posix_storage(dir);
    model::SystemClock clock;
    journal::MemoryLog unused;
    store::Store store(clock, unused);
    auto report = [&] {
        store::Store::Replay replay(store);
        return journal::recover(*storage, journal::RecoverMode::strict, true,
                                [&](journal::Change&& change) { replay.apply(std::move(change)); },
                                [&](std::uint64_t tasks) { replay.reserve(tasks); });
    }();
    out << "data directory: " << dir.string() << "\n";
    if (!report) {
        out << "DAMAGE: " << report.error().message << "\n";
        return 2;
    }
    if (report->snapshot_file.empty()) out << "snapshot: none\n";
    else
        out << "snapshot: " << report->snapshot_file << " (after record " << report->snapshot_sequence << ": "
            << report->snapshot_agents << " agents, " << report->snapshot_tasks << " tasks)\n";
    // Used: headers and records. Allocated: what the filesystem gave the file, including the
    // reservation of a segment that was being written (and, where a start could not continue
    // the newest segment, of an older one until the next start trims it).
    std::uint64_t used_total = 0, allocated_total = 0;
    out << "segments: " << report->segments.size() << "\n";
    for (const auto& segment : report->segments) {
        const auto space = storage->space(segment.name);
        const std::uint64_t allocated = space ? space->allocated : 0;
        used_total += segment.used_bytes;
        allocated_total += allocated;
        out << "  " << segment.name << ": " << segment.used_bytes << " bytes used, " << segment.file_bytes
            << " bytes long, " << allocated << " bytes allocated\n";
    }
    out << "journal bytes: " << used_total << " used, " << allocated_total << " allocated\n";
    out << "records replayed: " << report->records_replayed << "\n";
    for (const auto& [type, count] : report->replayed_by_type) out << "  " << journal::to_string(type) << ": " << count << "\n";
    out << "last record: " << report->last_sequence << "\n";
    const auto counts = store.task_count_by_status();
    out << "tasks: " << store.task_count() << " (pending " << counts[0] << ", running " << counts[1] << ", completed "
        << counts[2] << ", failed " << counts[3] << ")\n";
    out << "agents: " << store.list_agents().size() << "\n";
    if (report->cuts.empty()) {
        out << "damage: none\n";
        return 0;
    }
    for (const auto& cut : report->cuts) out << "damage: " << cut << "\n";
    return 1;
}

}  // namespace taskd::server
