// CRC32C (Castagnoli), the checksum of every journal record and snapshot.
//
// On x86-64 processors with SSE4.2 it uses the crc32 instruction (several GB/s); elsewhere
// Boost.CRC's table-driven crc_optimal. Both give the same values (tests/unit/journal).
// Stored CRCs are masked as LevelDB's are: a CRC of data that holds CRCs is poorly distributed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace taskd::journal {

std::uint32_t crc32c(std::span<const std::uint8_t> data);
std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> data);
// The portable version, for tests that compare the two.
std::uint32_t crc32c_portable(std::uint32_t crc, std::span<const std::uint8_t> data);

inline constexpr std::uint32_t kCrcMaskDelta = 0xa282ead8u;
inline std::uint32_t mask_crc(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }
inline std::uint32_t unmask_crc(std::uint32_t masked) {
    const std::uint32_t rot = masked - kCrcMaskDelta;
    return (rot >> 17) | (rot << 15);
}

}  // namespace taskd::journal
