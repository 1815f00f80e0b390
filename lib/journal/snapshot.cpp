#include "journal/snapshot.hpp"

#include "journal/change.hpp"
#include "journal/record.hpp"
#include "journal/recovery.hpp"

#include <algorithm>

namespace taskd::journal {
namespace {

// Records are gathered and written in pieces of about this size.
constexpr std::size_t kWriteChunkBytes = 1 << 20;

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Removes the segments whose records all precede `sequence + 1` (the next segment starts at or
// before it), and every snapshot older than `sequence`.
IoResult<std::pair<std::size_t, std::size_t>> remove_covered(Storage& storage, std::uint64_t sequence) {
    auto names = storage.list();
    if (!names) return names.error();
    std::vector<std::pair<std::uint64_t, std::string>> segments;
    std::size_t snapshots_removed = 0;
    for (const auto& name : *names) {
        if (auto first = parse_segment_name(name)) segments.emplace_back(*first, name);
        else if (auto s = parse_snapshot_name(name); s && *s < sequence) {
            if (auto ok = storage.remove(name); !ok) return ok.error();
            ++snapshots_removed;
        }
    }
    std::sort(segments.begin(), segments.end());
    std::size_t segments_removed = 0;
    for (std::size_t i = 0; i + 1 < segments.size() && segments[i + 1].first <= sequence + 1; ++i) {
        if (auto ok = storage.remove(segments[i].second); !ok) return ok.error();
        ++segments_removed;
    }
    if (auto ok = storage.sync_directory(); !ok) return ok.error();
    return std::make_pair(segments_removed, snapshots_removed);
}

}  // namespace

IoResult<SnapshotStats> write_snapshot(Storage& storage, const SnapshotData& data) {
    const std::string final_name = snapshot_name(data.sequence);
    const std::string temp_name = final_name + ".tmp";
    (void)storage.remove(temp_name);  // left by an earlier attempt
    auto file = storage.create(temp_name);
    if (!file) return file.error();

    SnapshotStats stats;
    std::string buffer = file_header(kSnapshotMagic, data.sequence);
    std::uint64_t sequence = 0;
    auto flush = [&](bool force) -> IoResult<> {
        if (buffer.size() < kWriteChunkBytes && !force) return {};
        if (auto ok = (*file)->append(as_bytes(buffer)); !ok) return ok;
        stats.bytes += buffer.size();
        buffer.clear();
        return {};
    };
    for (const auto& agent : data.agents) {
        append_record(buffer, RecordType::snapshot_agent, ++sequence, encode_snapshot_agent(agent));
        if (auto ok = flush(false); !ok) return ok.error();
    }
    std::vector<model::Task> tasks(std::min(kMaxSnapshotBatch, data.task_count));
    std::vector<SnapshotTask> run;
    for (std::size_t i = 0; i < data.task_count; i += kMaxSnapshotBatch) {
        run.resize(std::min(kMaxSnapshotBatch, data.task_count - i));
        for (std::size_t j = 0; j < run.size(); ++j) {
            data.read_task(i + j, tasks[j], run[j].idempotency_key);
            run[j].task = &tasks[j];
        }
        append_record(buffer, RecordType::snapshot_tasks, ++sequence, encode_snapshot_tasks(run));
        if (auto ok = flush(false); !ok) return ok.error();
    }
    append_record(buffer, RecordType::snapshot_end, ++sequence, encode_snapshot_end(data.agents.size(), data.task_count));
    if (auto ok = flush(true); !ok) return ok.error();
    if (auto ok = (*file)->sync(); !ok) return ok.error();
    file->reset();
    if (auto ok = storage.rename(temp_name, final_name); !ok) return ok.error();
    if (auto ok = storage.sync_directory(); !ok) return ok.error();

    auto removed = remove_covered(storage, data.sequence);
    if (!removed) return removed.error();
    stats.segments_removed = removed->first;
    stats.snapshots_removed = removed->second;
    return stats;
}

}  // namespace taskd::journal
