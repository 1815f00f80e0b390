#include "journal/crc32c.hpp"

#include <boost/crc.hpp>

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace taskd::journal {
namespace {

// reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF
using BoostCrc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const std::uint8_t* p, std::size_t n) {
    std::uint64_t c = ~crc;
    while (n >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t crc32c_portable(std::uint32_t crc, std::span<const std::uint8_t> data) {
    // crc_optimal resumes from its register, which holds the un-finalised CRC (~crc), kept
    // bit-reversed for a reflected CRC like this one.
    std::uint32_t reg = ~crc, reversed = 0;
    for (int i = 0; i < 32; ++i) reversed |= ((reg >> i) & 1u) << (31 - i);
    BoostCrc32c engine(reversed);
    engine.process_bytes(data.data(), data.size());
    return engine.checksum();
}

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> data) {
#if defined(__x86_64__)
    if (kHaveSse42) return crc32c_sse42(crc, data.data(), data.size());
#endif
    return crc32c_portable(crc, data);
}

std::uint32_t crc32c(std::span<const std::uint8_t> data) { return crc32c_extend(0, data); }

}  // namespace taskd::journal
