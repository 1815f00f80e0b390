// journal/crc32c: the published CRC32C vectors (RFC 3720 B.4, as LevelDB's crc32c_test checks
// them), the hardware path against the portable one on random buffers and on split buffers,
// and the LevelDB mask.
#include "journal/crc32c.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <vector>

namespace {

using namespace taskd::journal;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::uint8_t> random_bytes(std::mt19937& rng, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

struct Vector {
    const char* name;
    std::vector<std::uint8_t> data;
    std::uint32_t crc;
};

std::vector<Vector> known_vectors() {
    std::vector<std::uint8_t> ascending(32), descending(32);
    for (std::size_t i = 0; i < 32; ++i) {
        ascending[i] = static_cast<std::uint8_t>(i);
        descending[i] = static_cast<std::uint8_t>(31 - i);
    }
    const std::string_view check = "123456789";
    // An iSCSI read command PDU (RFC 3720 B.4).
    const std::vector<std::uint8_t> iscsi = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    return {
        {"empty", {}, 0x00000000u},
        {"123456789", {check.begin(), check.end()}, 0xE3069283u},
        {"32 zeros", std::vector<std::uint8_t>(32, 0x00), 0x8A9136AAu},
        {"32 0xff", std::vector<std::uint8_t>(32, 0xff), 0x62A8AB43u},
        {"0..31", ascending, 0x46DD794Eu},
        {"31..0", descending, 0x113FDB5Cu},
        {"iSCSI read", iscsi, 0xD9963A56u},
    };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_crc32c)

BOOST_AUTO_TEST_CASE(known_vectors_on_both_paths) {
    for (const auto& v : known_vectors()) {
        BOOST_TEST_CONTEXT(v.name) {
            BOOST_TEST(crc32c(v.data) == v.crc);
            BOOST_TEST(crc32c_extend(0, v.data) == v.crc);
            BOOST_TEST(crc32c_portable(0, v.data) == v.crc);
        }
    }
}

BOOST_AUTO_TEST_CASE(hardware_equals_portable_on_random_buffers) {
    std::mt19937 rng(3720);
    // Every length up to a few words of the 8-byte loop, at every alignment, then some large ones.
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 70; ++n) lengths.push_back(n);
    for (std::size_t n : {127u, 128u, 129u, 1000u, 4095u, 4096u, 65537u}) lengths.push_back(n);
    for (std::size_t n : lengths) {
        const auto buffer = random_bytes(rng, n + 8);
        for (std::size_t shift = 0; shift < 8; ++shift) {
            const std::span<const std::uint8_t> data(buffer.data() + shift, n);
            const std::uint32_t seed = static_cast<std::uint32_t>(rng());
            BOOST_TEST_CONTEXT("length " << n << " offset " << shift) {
                BOOST_TEST(crc32c(data) == crc32c_portable(0, data));
                BOOST_TEST(crc32c_extend(seed, data) == crc32c_portable(seed, data));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(extend_equals_crc_of_the_concatenation) {
    std::mt19937 rng(1982);
    const auto buffer = random_bytes(rng, 300);
    const std::span<const std::uint8_t> all(buffer);
    const std::uint32_t whole = crc32c(all);
    BOOST_TEST(whole == crc32c_portable(0, all));
    for (std::size_t split = 0; split <= all.size(); ++split) {
        BOOST_TEST_CONTEXT("split at " << split) {
            const auto head = all.first(split);
            const auto tail = all.subspan(split);
            BOOST_TEST(crc32c_extend(crc32c(head), tail) == whole);
            BOOST_TEST(crc32c_portable(crc32c_portable(0, head), tail) == whole);
            // The two paths can hand a partial CRC to each other.
            BOOST_TEST(crc32c_extend(crc32c_portable(0, head), tail) == whole);
            BOOST_TEST(crc32c_portable(crc32c_extend(0, head), tail) == whole);
        }
    }
    // "123456789" as "1234" + "56789".
    BOOST_TEST(crc32c_extend(crc32c(bytes_of("1234")), bytes_of("56789")) == 0xE3069283u);
}

BOOST_AUTO_TEST_CASE(a_changed_byte_changes_the_crc) {
    std::mt19937 rng(7);
    auto buffer = random_bytes(rng, 64);
    const std::uint32_t before = crc32c(buffer);
    for (std::size_t i = 0; i < buffer.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            buffer[i] ^= static_cast<std::uint8_t>(1u << bit);
            BOOST_TEST_CONTEXT("byte " << i << " bit " << bit) { BOOST_TEST(crc32c(buffer) != before); }
            buffer[i] ^= static_cast<std::uint8_t>(1u << bit);
        }
    }
    BOOST_TEST(crc32c(buffer) == before);
}

BOOST_AUTO_TEST_CASE(mask_round_trips_and_changes_the_value) {
    std::mt19937 rng(17);
    std::vector<std::uint32_t> values = {0u, 1u, 0xffffffffu, 0xE3069283u, 0x8A9136AAu, kCrcMaskDelta};
    for (int i = 0; i < 1000; ++i) values.push_back(static_cast<std::uint32_t>(rng()));
    for (std::uint32_t v : values) {
        BOOST_TEST_CONTEXT("value " << v) {
            BOOST_TEST(unmask_crc(mask_crc(v)) == v);
            BOOST_TEST(mask_crc(v) != v);
            BOOST_TEST(mask_crc(mask_crc(v)) != v);
        }
    }
    // LevelDB's definition, spelled out once.
    const std::uint32_t crc = 0xE3069283u;
    BOOST_TEST(mask_crc(crc) == static_cast<std::uint32_t>(((crc >> 15) | (crc << 17)) + 0xa282ead8u));
}

BOOST_AUTO_TEST_SUITE_END()
