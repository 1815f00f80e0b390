// Fuzz target recovery: bytes split into the files of a data directory -> journal::recover in
// both modes, applying every change to a real Store.
//
// Input layout: the first byte's low 2 bits say whether a snapshot comes first (bit 0) and how
// many segments follow (1 + bit 1); the rest is split at the byte sequence "\n--\n". The
// snapshot is snapshot-<seq>.snap and the segments journal-<seq>.log, named after the first
// sequence their headers declare (1 when they have none), as the writer names them.
//
// Asserts: no crash, no exception; a second recovery of what a truncate_corrupt recovery
// left is clean (whatever was cut stays cut, nothing new is cut).
#include "journal/record.hpp"
#include "journal/recovery.hpp"
#include "memory_storage.hpp"
#include "recover_into_store.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace taskd;

std::uint64_t declared_first(std::string_view file, std::string_view magic) {
    journal::FileHeader h;
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(file.data()), file.size());
    if (journal::parse_file_header(bytes, magic, h) == journal::ParseResult::ok) return h.first_sequence;
    return 1;
}

std::string segment_name(std::uint64_t seq) {
    char name[64];
    std::snprintf(name, sizeof name, "journal-%020llu.log", static_cast<unsigned long long>(seq));
    return name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const bool with_snapshot = data[0] & 1;
    const std::size_t segments = 1 + ((data[0] >> 1) & 1);
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::vector<std::string_view> parts;
    for (std::size_t i = 0; i < (with_snapshot ? 1 : 0) + segments; ++i) {
        const auto at = rest.find("\n--\n");
        parts.push_back(rest.substr(0, at));
        if (at == std::string_view::npos) break;
        rest.remove_prefix(at + 4);
    }

    test::MemoryStorage original;
    std::size_t i = 0;
    if (with_snapshot && i < parts.size()) {
        const std::string_view snap = parts[i++];
        original.put(journal::snapshot_name(declared_first(snap, journal::kSnapshotMagic)), std::string(snap));
    }
    for (; i < parts.size(); ++i) {
        const std::string_view seg = parts[i];
        original.put(segment_name(declared_first(seg, journal::kSegmentMagic)), std::string(seg));
    }

    for (const bool read_only : {true, false}) {
        test::MemoryStorage storage(original);
        (void)fuzz::recover_into_store(storage, journal::RecoverMode::strict, read_only);
    }
    test::MemoryStorage storage(original);
    const auto first = fuzz::recover_into_store(storage, journal::RecoverMode::truncate_corrupt, false);
    if (first) {
        const auto second = fuzz::recover_into_store(storage, journal::RecoverMode::strict, true);
        if (!second || !second->cuts.empty()) {
            std::fprintf(stderr, "recovery_fuzz: a directory repaired by truncate_corrupt does not recover clean\n");
            std::abort();
        }
    }
    return 0;
}
