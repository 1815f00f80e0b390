#include "journal/recovery.hpp"

#include "journal/record.hpp"
#include "journal/writer.hpp"
#include "util/batch_channel.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

namespace taskd::journal {
namespace {

// Decoded changes are handed to the applying thread this many at a time, and the decoder may
// be this many batches ahead (about 12 MiB of decoded tasks; more only made it slower).
constexpr std::size_t kDecodedBatch = 1024;
constexpr std::size_t kMaxDecodedBatchesWaiting = 32;

std::optional<std::uint64_t> parse_numbered(const std::string& name, std::string_view prefix, std::string_view suffix) {
    if (name.size() != prefix.size() + 20 + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix))
        return std::nullopt;
    std::uint64_t n = 0;
    const char* first = name.data() + prefix.size();
    auto [end, ec] = std::from_chars(first, first + 20, n);
    if (ec != std::errc{} || end != first + 20) return std::nullopt;
    return n;
}

// True when a valid record (one that could follow record `expected - 1`) starts anywhere in
// data[from..]: the damage before it is then followed by good data, which a torn write cannot
// produce. The type and sequence are checked before the CRC, so a tail of random bytes costs
// a CRC only where those match by chance, not at every offset.
bool valid_record_after(std::span<const std::uint8_t> data, std::size_t from, std::uint64_t expected) {
    for (std::size_t pos = from; pos + kRecordHeaderBytes <= data.size(); ++pos) {
        const std::uint8_t* p = data.data() + pos;
        std::uint64_t sequence = 0;
        for (int i = 7; i >= 0; --i) sequence = sequence << 8 | p[9 + i];
        if (!is_known(p[8]) || sequence < expected || sequence - expected > (1ull << 32)) continue;
        RecordView r;
        if (parse_record(data.subspan(pos), r) == ParseResult::ok) return true;
    }
    return false;
}

// Segments are reserved ahead (AppendFile::reserve), so a segment's data ends where only zeros
// follow. No record starts with a zero byte run this long (its CRC, length and type).
bool only_zeros(std::span<const std::uint8_t> rest) {
    // The reservation may be megabytes: memcmp against itself shifted by one compares them
    // a vector at a time (a byte loop was 1 % of recovering a million tasks).
    return rest.empty() || (rest[0] == 0 && std::memcmp(rest.data(), rest.data() + 1, rest.size() - 1) == 0);
}

std::string at(const std::string& file, std::size_t offset) { return file + " at offset " + std::to_string(offset); }

class Recovery {
public:
    Recovery(Storage& storage, RecoverMode mode, bool read_only, const ApplyChange& apply,
             std::atomic<std::uint64_t>& expected_tasks)
        : storage_(storage), mode_(mode), read_only_(read_only), apply_(apply), expected_tasks_(expected_tasks) {}

    boost::system::result<RecoveryReport, RecoveryError> run();

private:
    std::optional<RecoveryError> load_snapshot(const std::string& name, std::uint64_t sequence);
    // Replays one segment; `last` is true for the newest. Sets done_ when the journal was cut.
    std::optional<RecoveryError> replay_segment(const std::string& name, bool last, bool first_read);
    // Damage at `offset` of `name`: a torn tail, a cut (truncate-corrupt), or an error.
    std::optional<RecoveryError> damage(const std::string& name, std::size_t offset, std::size_t file_size,
                                        bool torn, const std::string& what);
    void cut_file(const std::string& name, std::size_t offset);

    Storage& storage_;
    RecoverMode mode_;
    bool read_only_;
    const ApplyChange& apply_;
    std::atomic<std::uint64_t>& expected_tasks_;  // set before the first change is applied
    RecoveryReport report_;
    std::uint64_t expected_ = 1;  // the next sequence number to replay
    std::vector<std::string> later_segments_;
    bool done_ = false;
};

boost::system::result<RecoveryReport, RecoveryError> Recovery::run() {
    auto names = storage_.list();
    if (!names) return RecoveryError{"cannot list the data directory: " + names.error().message()};

    std::vector<std::pair<std::uint64_t, std::string>> snapshots, segments;
    for (const auto& name : *names) {
        if (name.ends_with(".tmp")) {
            // A snapshot that was being written when the process stopped: never renamed, never used.
            if (!read_only_) (void)storage_.remove(name);
        } else if (auto snapshot = parse_snapshot_name(name)) {
            snapshots.emplace_back(*snapshot, name);
        } else if (auto segment = parse_segment_name(name)) {
            segments.emplace_back(*segment, name);
        }
    }
    std::sort(snapshots.begin(), snapshots.end());
    std::sort(segments.begin(), segments.end());

    if (!snapshots.empty()) {
        const auto& [sequence, name] = snapshots.back();
        if (auto error = load_snapshot(name, sequence)) return *error;
        expected_ = sequence + 1;
    }

    // Segments whose successor starts at or before expected_ hold only records the snapshot
    // already has (left by a stop between a snapshot and the removal of what it covers).
    std::size_t first = 0;
    while (first + 1 < segments.size() && segments[first + 1].first <= expected_) ++first;
    for (std::size_t i = first; i < segments.size() && !done_; ++i) {
        later_segments_.clear();
        for (std::size_t j = i + 1; j < segments.size(); ++j) later_segments_.push_back(segments[j].second);
        if (auto error = replay_segment(segments[i].second, i + 1 == segments.size(), i == first)) return *error;
    }
    report_.last_sequence = expected_ - 1;
    return report_;
}

std::optional<RecoveryError> Recovery::load_snapshot(const std::string& name, std::uint64_t sequence) {
    auto contents = storage_.read(name);
    if (!contents) return RecoveryError{"cannot read " + name + ": " + contents.error().message()};
    const auto data = contents->bytes();
    const std::string refuse = "; the journal it covers is gone, so taskd cannot start from this directory";
    FileHeader header;
    if (parse_file_header(data, kSnapshotMagic, header) != ParseResult::ok || header.first_sequence != sequence)
        return RecoveryError{"snapshot " + name + " has a damaged header" + refuse};
    // Its snapshot_end record closes the file and is of fixed size: its task count, checked
    // against the records below, is the hint. Only a count the file could hold (every task
    // takes its 16-byte id at least): a damaged or forged one must not have the store reserve
    // more than the file's worth before the records below show the damage.
    constexpr std::size_t kEndBytes = kRecordHeaderBytes + 16;
    if (RecordView end; data.size() >= kFileHeaderBytes + kEndBytes &&
                        parse_record(data.subspan(data.size() - kEndBytes), end) == ParseResult::ok &&
                        end.type == RecordType::snapshot_end && end.size == kEndBytes) {
        const auto change = decode_change(end.type, end.payload);
        if (change && std::get<SnapshotEnd>(*change).tasks <= data.size() / 16)
            expected_tasks_.store(std::get<SnapshotEnd>(*change).tasks, std::memory_order_relaxed);
    }

    std::size_t offset = kFileHeaderBytes;
    std::uint64_t next = 1, agents = 0, tasks = 0;
    bool ended = false;
    while (offset < data.size() && !ended) {
        RecordView r;
        if (parse_record(data.subspan(offset), r) != ParseResult::ok || r.sequence != next)
            return RecoveryError{"snapshot " + at(name, offset) + " is damaged" + refuse};
        auto change = decode_change(r.type, r.payload);
        if (!change) return RecoveryError{"snapshot " + at(name, offset) + " holds an unreadable record" + refuse};
        if (r.type == RecordType::snapshot_agent) ++agents;
        else if (r.type == RecordType::snapshot_task) ++tasks;
        else if (r.type == RecordType::snapshot_tasks) {
            auto& run = std::get<SnapshotTasks>(*change).tasks;
            tasks += run.size();
            for (auto& task : run) apply_(std::move(task));
            offset += r.size;
            ++next;
            continue;
        } else if (r.type == RecordType::snapshot_end) {
            const auto& end = std::get<SnapshotEnd>(*change);
            if (end.agents != agents || end.tasks != tasks)
                return RecoveryError{"snapshot " + name + " counts do not match its records" + refuse};
            ended = true;
        } else {
            return RecoveryError{"snapshot " + at(name, offset) + " holds a journal record" + refuse};
        }
        if (!ended) apply_(std::move(*change));
        offset += r.size;
        ++next;
    }
    if (!ended || offset != data.size()) return RecoveryError{"snapshot " + name + " is incomplete" + refuse};
    report_.snapshot_file = name;
    report_.snapshot_sequence = sequence;
    report_.snapshot_agents = agents;
    report_.snapshot_tasks = tasks;
    return std::nullopt;
}

void Recovery::cut_file(const std::string& name, std::size_t offset) {
    if (read_only_) return;
    if (offset == 0) (void)storage_.remove(name);
    else (void)storage_.truncate(name, offset);
}

std::optional<RecoveryError> Recovery::damage(const std::string& name, std::size_t offset, std::size_t file_size,
                                              bool torn, const std::string& what) {
    const std::string verb = read_only_ ? "would cut " : "cut ";
    if (torn) {
        report_.cuts.push_back(verb + "a torn tail: " + at(name, offset) + ", " + std::to_string(file_size - offset) +
                               " bytes (" + what + ")");
        cut_file(name, offset);
        done_ = true;
        return std::nullopt;
    }
    if (mode_ != RecoverMode::truncate_corrupt)
        return RecoveryError{"journal damaged: " + at(name, offset) + ": " + what +
                             ", and valid data follows, so this is not a torn write. Nothing was changed. Start with "
                             "--recover=truncate-corrupt to drop this record and everything after it."};
    std::string dropped = std::to_string(file_size - offset) + " bytes of " + name;
    for (const auto& later : later_segments_) dropped += " and all of " + later;
    report_.cuts.push_back(verb + "at damage (--recover=truncate-corrupt): " + at(name, offset) + ": " + what +
                           "; dropped " + dropped);
    cut_file(name, offset);
    if (!read_only_)
        for (const auto& later : later_segments_) (void)storage_.remove(later);
    done_ = true;
    return std::nullopt;
}

std::optional<RecoveryError> Recovery::replay_segment(const std::string& name, bool last, bool first_read) {
    auto contents = storage_.read(name);
    if (!contents) return RecoveryError{"cannot read " + name + ": " + contents.error().message()};
    const auto data = contents->bytes();
    report_.segments.push_back({name, 0, 0, data.size(), 0});
    SegmentInfo& info = report_.segments.back();

    FileHeader header;
    const auto parsed = parse_file_header(data, kSegmentMagic, header);
    if (parsed != ParseResult::ok) {
        // A segment whose creation was interrupted has a short header and nothing else (or
        // zeros: a reservation made durable before the header was).
        const bool torn = last && (parsed == ParseResult::truncated || only_zeros(data));
        return damage(name, 0, data.size(), torn, "damaged segment header");
    }
    info.first_sequence = header.first_sequence;
    if (header.first_sequence > expected_ || (!first_read && header.first_sequence != expected_))
        return damage(name, 0, data.size(), false,
                      "sequence gap: expected record " + std::to_string(expected_) + ", the segment starts at " +
                          std::to_string(header.first_sequence));

    std::uint64_t next = header.first_sequence;
    std::size_t offset = kFileHeaderBytes;
    // Where the segment's data ends, whether at the file's end, at an unused reservation or at
    // a cut (damage() cuts there, or would).
    auto ends_at = [&](std::size_t end) {
        info.used_bytes = end;
        info.next_sequence = next;
    };
    while (offset < data.size()) {
        RecordView r;
        const auto result = parse_record(data.subspan(offset), r);
        if (result != ParseResult::ok && only_zeros(data.subspan(offset))) {
            // The unused reservation. The writer continues the newest segment and reserves it
            // again; an older one will take no more records: give its zeros back. Truncating at
            // a record boundary changes nothing a reader sees (doc/journal_format.md).
            // Only space is at stake: a failure is reported, not a reason to refuse the start.
            if (!last && !read_only_) {
                if (auto trimmed = storage_.truncate(name, offset); !trimmed) {
                    report_.trim_failures.push_back("cannot truncate the unused reservation of " + at(name, offset) +
                                                    ": " + trimmed.error().message());
                } else {
                    ++report_.segments_trimmed;
                    report_.bytes_trimmed += data.size() - offset;
                }
            }
            break;
        }
        if (result != ParseResult::ok || r.sequence != next) {
            // Only a cut or garbled record can come from a write that died; a whole valid record
            // in the wrong place cannot.
            const bool torn = last && result != ParseResult::ok && !valid_record_after(data, offset + 1, next);
            const std::string what = result == ParseResult::truncated ? "record cut short"
                                     : result == ParseResult::corrupt ? "bad checksum, length or type"
                                                                      : "out-of-order sequence number " +
                                                                            std::to_string(r.sequence);
            ends_at(offset);
            return damage(name, offset, data.size(), torn, what);
        }
        if (r.sequence >= expected_) {
            auto change = decode_change(r.type, r.payload);
            if (!change || static_cast<std::uint8_t>(r.type) >= static_cast<std::uint8_t>(RecordType::snapshot_agent)) {
                ends_at(offset);
                return damage(name, offset, data.size(), false, "unreadable record payload");
            }
            apply_(std::move(*change));
            ++report_.records_replayed;
            ++report_.replayed_by_type[r.type];
            report_.bytes_replayed += r.size;
            expected_ = r.sequence + 1;
        }
        offset += r.size;
        ++next;
    }
    ends_at(offset);
    return std::nullopt;
}

}  // namespace

std::string snapshot_name(std::uint64_t sequence) {
    char name[64];
    std::snprintf(name, sizeof name, "snapshot-%020" PRIu64 ".snap", sequence);
    return name;
}

std::optional<std::uint64_t> parse_segment_name(const std::string& name) { return parse_numbered(name, "journal-", ".log"); }
std::optional<std::uint64_t> parse_snapshot_name(const std::string& name) {
    return parse_numbered(name, "snapshot-", ".snap");
}

boost::system::result<RecoveryReport, RecoveryError> recover(Storage& storage, RecoverMode mode, bool read_only,
                                                             const ApplyChange& apply, const ExpectTasks& expect) {
    // Reading, checking and decoding the records (a fifth of recovering a million tasks) runs
    // on a second thread, ahead of the caller's thread, which applies the changes in order.
    util::BatchChannel<Change> changes(kDecodedBatch, kMaxDecodedBatchesWaiting);
    std::optional<boost::system::result<RecoveryReport, RecoveryError>> outcome;
    std::atomic<std::uint64_t> expected_tasks{0};
    std::thread decoder([&] {
        const ApplyChange hand_over = [&](Change&& c) { changes.push(std::move(c)); };
        outcome.emplace(Recovery(storage, mode, read_only, hand_over, expected_tasks).run());
        changes.close();
    });
    bool first = true;
    while (auto batch = changes.pop()) {
        if (std::exchange(first, false) && expect) {
            if (const std::uint64_t tasks = expected_tasks.load(std::memory_order_relaxed)) expect(tasks);
        }
        for (Change& c : *batch) apply(std::move(c));
    }
    decoder.join();
    return std::move(*outcome);
}

}  // namespace taskd::journal
