// Fuzz target snapshot: bytes as the only file of a data directory, a snapshot
// (snapshot-<seq>.snap) -> journal::recover, which loads it, in both modes, read-only and not,
// applying every change to a real Store.
//
// Asserts: no crash, no exception; recovery either succeeds or refuses with a message.
#include "journal/recovery.hpp"
#include "memory_storage.hpp"
#include "recover_into_store.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace taskd;
    for (const auto mode : {journal::RecoverMode::strict, journal::RecoverMode::truncate_corrupt}) {
        for (const bool read_only : {true, false}) {
            test::MemoryStorage storage;
            storage.put(journal::snapshot_name(1), std::string(reinterpret_cast<const char*>(data), size));
            fuzz::recover_into_store(storage, mode, read_only);
        }
    }
    return 0;
}
