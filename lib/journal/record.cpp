#include "journal/record.hpp"

#include "journal/codec.hpp"
#include "journal/crc32c.hpp"

namespace taskd::journal {
namespace {

std::uint32_t load_u32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

std::uint64_t load_u64(const std::uint8_t* p) {
    return static_cast<std::uint64_t>(load_u32(p)) | static_cast<std::uint64_t>(load_u32(p + 4)) << 32;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::string_view to_string(RecordType type) {
    switch (type) {
        case RecordType::task_created: return "task_created";
        case RecordType::task_claimed: return "task_claimed";
        case RecordType::task_updated: return "task_updated";
        case RecordType::task_lease_expired: return "task_lease_expired";
        case RecordType::agent_registered: return "agent_registered";
        case RecordType::agent_deleted: return "agent_deleted";
        case RecordType::tasks_purged: return "tasks_purged";
        case RecordType::agent_seen: return "agent_seen";
        case RecordType::snapshot_agent: return "snapshot_agent";
        case RecordType::snapshot_task: return "snapshot_task";
        case RecordType::snapshot_end: return "snapshot_end";
        case RecordType::snapshot_tasks: return "snapshot_tasks";
    }
    return "unknown";
}

bool is_known(std::uint8_t type) { return (type >= 1 && type <= 8) || (type >= 64 && type <= 67); }

void append_record(std::string& out, RecordType type, std::uint64_t sequence, std::string_view payload) {
    const std::size_t start = out.size();
    Encoder e(out);
    e.u32(0);  // the CRC, filled in below
    e.u32(static_cast<std::uint32_t>(payload.size()));
    e.u8(static_cast<std::uint8_t>(type));
    e.u64(sequence);
    out.append(payload);
    const auto covered = as_bytes(std::string_view(out).substr(start + 4));
    const std::uint32_t crc = mask_crc(crc32c(covered));
    for (int i = 0; i < 4; ++i) out[start + static_cast<std::size_t>(i)] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

ParseResult parse_record(std::span<const std::uint8_t> data, RecordView& out) {
    if (data.size() < kRecordHeaderBytes) return ParseResult::truncated;
    const std::uint32_t stored_crc = load_u32(data.data());
    const std::uint32_t length = load_u32(data.data() + 4);
    const std::uint8_t type = data[8];
    // An impossible length is damage; a possible one that runs past the data is a cut record,
    // unless the CRC of what is there already shows damage — it cannot, so report truncation.
    if (length > kMaxRecordPayloadBytes) return ParseResult::corrupt;
    if (data.size() - kRecordHeaderBytes < length) return ParseResult::truncated;
    const auto covered = data.subspan(4, kRecordHeaderBytes - 4 + length);
    if (unmask_crc(stored_crc) != crc32c(covered)) return ParseResult::corrupt;
    if (!is_known(type)) return ParseResult::corrupt;
    out.type = static_cast<RecordType>(type);
    out.sequence = load_u64(data.data() + 9);
    out.payload = data.subspan(kRecordHeaderBytes, length);
    out.size = kRecordHeaderBytes + length;
    return ParseResult::ok;
}

std::string file_header(std::string_view magic, std::uint64_t first_sequence) {
    std::string out(magic);
    Encoder e(out);
    e.u32(kFormatVersion);
    e.u64(first_sequence);
    e.u32(mask_crc(crc32c(as_bytes(out))));
    return out;
}

ParseResult parse_file_header(std::span<const std::uint8_t> data, std::string_view magic, FileHeader& out) {
    if (data.size() < kFileHeaderBytes) return ParseResult::truncated;
    if (std::string_view(reinterpret_cast<const char*>(data.data()), 8) != magic) return ParseResult::corrupt;
    if (unmask_crc(load_u32(data.data() + 20)) != crc32c(data.subspan(0, 20))) return ParseResult::corrupt;
    out.version = load_u32(data.data() + 8);
    out.first_sequence = load_u64(data.data() + 12);
    if (out.version < kOldestFormatVersion || out.version > kFormatVersion) return ParseResult::corrupt;
    return ParseResult::ok;
}

}  // namespace taskd::journal
