// Record framing of journal segments and snapshots (doc/journal_format.md):
//
//   masked CRC32C (u32) | length (u32) | type (u8) | sequence (u64) | payload (length bytes)
//
// and the 24-byte header each file starts with. Pure functions over bytes: nothing here does
// I/O, so every corruption case can be tested on a string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace taskd::journal {

enum class RecordType : std::uint8_t {
    task_created = 1,
    task_claimed = 2,
    task_updated = 3,
    task_lease_expired = 4,
    agent_registered = 5,
    agent_deleted = 6,
    tasks_purged = 7,
    agent_seen = 8,
    snapshot_agent = 64,
    snapshot_task = 65,
    snapshot_end = 66,
    snapshot_tasks = 67,  // version 2
};

std::string_view to_string(RecordType type);
bool is_known(std::uint8_t type);

// Version 2 added snapshot_tasks (snapshots of about half the size); version 3 the scheduling
// fields (priority, not_before: issue 23) as optional tails of task_created and of the task
// state records, and two flags of snapshot_tasks. A reader of version 3 reads versions 1 and 2
// as they were written (their records simply lack the tails: the defaults).
inline constexpr std::uint32_t kFormatVersion = 3;
inline constexpr std::uint32_t kOldestFormatVersion = 1;
inline constexpr std::size_t kRecordHeaderBytes = 4 + 4 + 1 + 8;
inline constexpr std::size_t kFileHeaderBytes = 8 + 4 + 8 + 4;
inline constexpr std::string_view kSegmentMagic = "TASKDLOG";
inline constexpr std::string_view kSnapshotMagic = "TASKDSNP";
// A record holds at most one task: its payload is bounded by --max-body-bytes (at most 1 GiB).
// A length beyond this is damage, whatever the file size.
inline constexpr std::uint32_t kMaxRecordPayloadBytes = (1u << 30) + (1u << 20);

void append_record(std::string& out, RecordType type, std::uint64_t sequence, std::string_view payload);
std::string file_header(std::string_view magic, std::uint64_t first_sequence);

struct RecordView {
    RecordType type{};
    std::uint64_t sequence = 0;
    std::span<const std::uint8_t> payload;
    std::size_t size = 0;  // header + payload
};

enum class ParseResult {
    ok,
    truncated,  // the bytes end inside the record: a torn write, if at the end of a file
    corrupt,    // a bad CRC, an impossible length or an unknown type
};

// Parses the record starting at `data[0]`.
ParseResult parse_record(std::span<const std::uint8_t> data, RecordView& out);

struct FileHeader {
    std::uint32_t version = 0;
    std::uint64_t first_sequence = 0;
};

ParseResult parse_file_header(std::span<const std::uint8_t> data, std::string_view magic, FileHeader& out);

}  // namespace taskd::journal
