// Fuzz target journal_record: bytes as the records of a segment (after its header) ->
// journal::parse_record, record after record, and decode_change on every record that parses;
// the first bytes also go to parse_file_header with both magics.
//
// Asserts: no crash or sanitizer report, in particular no read past the input (the bytes are a
// heap copy of exactly their size, so ASan sees one); a parsed record lies within the input
// and has a known type.
#include "journal/change.hpp"
#include "journal/record.hpp"

#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

using namespace taskd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // libFuzzer's buffer is already exact; the replay main's too. A copy keeps it so if not.
    const auto copy = std::make_unique<std::uint8_t[]>(size);
    if (size) std::memcpy(copy.get(), data, size);
    std::span<const std::uint8_t> rest(copy.get(), size);

    journal::FileHeader header;
    (void)journal::parse_file_header(rest, journal::kSegmentMagic, header);
    (void)journal::parse_file_header(rest, journal::kSnapshotMagic, header);

    while (!rest.empty()) {
        journal::RecordView r;
        if (journal::parse_record(rest, r) != journal::ParseResult::ok) break;
        if (r.size < journal::kRecordHeaderBytes || r.size > rest.size() ||
            r.payload.data() < rest.data() || r.payload.data() + r.payload.size() > rest.data() + r.size ||
            !journal::is_known(static_cast<std::uint8_t>(r.type))) {
            std::fprintf(stderr, "journal_record_fuzz: a record outside its bytes or of an unknown type\n");
            std::abort();
        }
        (void)journal::decode_change(r.type, r.payload);
        rest = rest.subspan(r.size);
    }
    return 0;
}
