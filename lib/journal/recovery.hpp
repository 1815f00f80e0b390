// Recovery: the state on disk -> a sequence of changes, in order, for the store to apply.
//
// Loads the newest snapshot, then replays the journal segments after it (doc/journal_format.md,
// "Recovery"). A record cut short or damaged at the very end of the last segment, with nothing
// valid after it, is a torn tail — the write of a process that died — and is cut off and logged.
// Any other damage (bad data before good data, a sequence gap, damage in an older segment or a
// snapshot) stops the start with the file and offset, unless RecoverMode::truncate_corrupt,
// which cuts the journal at the first damage and drops what follows (logged).
//
// Every segment but the newest ends where its records do: recovery truncates the unused
// reservation of an older one (zeros after its last record) and reports the newest as it is,
// for the writer to continue (Writer::open).
//
// With `read_only` (taskd --check-data) nothing is changed on disk; what would be cut is only
// reported.
#pragma once

#include "journal/change.hpp"
#include "journal/storage.hpp"
#include "journal/writer.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace taskd::journal {

enum class RecoverMode { strict, truncate_corrupt };

struct RecoveryReport {
    std::string snapshot_file;  // empty: none
    std::uint64_t snapshot_sequence = 0;
    std::uint64_t snapshot_agents = 0;
    std::uint64_t snapshot_tasks = 0;
    std::vector<SegmentInfo> segments;  // the segments read, in order; the last is the newest
    std::uint64_t records_replayed = 0;  // after the snapshot
    std::uint64_t bytes_replayed = 0;    // their framed size
    std::size_t segments_trimmed = 0;    // older segments whose unused reservation was truncated
    std::uint64_t bytes_trimmed = 0;
    std::vector<std::string> trim_failures;  // one line each; the data is intact, only space is kept
    std::map<RecordType, std::uint64_t> replayed_by_type;
    std::uint64_t last_sequence = 0;  // of the recovered state
    std::vector<std::string> cuts;    // what was (or, read-only, would be) cut, one line each
};

struct RecoveryError {
    std::string message;  // names the file and offset, and the override flag where one exists
};

// Called once per change, in order; the change may be moved from.
using ApplyChange = std::function<void(Change&&)>;
// Called at most once, before the first change and on the same thread, with the number of
// tasks the snapshot holds (read from its last record first), so that the store can make room
// for them at once. A hint: the records are checked as they come, as if it had not been given.
using ExpectTasks = std::function<void(std::uint64_t tasks)>;

boost::system::result<RecoveryReport, RecoveryError> recover(Storage& storage, RecoverMode mode, bool read_only,
                                                             const ApplyChange& apply, const ExpectTasks& expect = {});

std::string snapshot_name(std::uint64_t sequence);
// Parses "journal-<20 digits>.log" / "snapshot-<20 digits>.snap".
std::optional<std::uint64_t> parse_segment_name(const std::string& name);
std::optional<std::uint64_t> parse_snapshot_name(const std::string& name);

}  // namespace taskd::journal
