#include "api/cursor.hpp"

#include "util/base64url.hpp"

#include <boost/crc.hpp>

#include <array>
#include <cstdint>

namespace taskd::api {
namespace {

// Layout: version (1) | created_us (8, big-endian) | id (16) | CRC-32 of the rest (4).
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kBodySize = 1 + 8 + 16;
constexpr std::size_t kRawSize = kBodySize + 4;

std::uint32_t crc_of(const std::uint8_t* data) {
    boost::crc_32_type crc;
    crc.process_bytes(data, kBodySize);
    return crc.checksum();
}

}  // namespace

std::string encode_cursor(const store::TaskKey& key) {
    std::array<std::uint8_t, kRawSize> raw{};
    raw[0] = kVersion;
    const auto us = static_cast<std::uint64_t>(key.created_us);
    for (int i = 0; i < 8; ++i) raw[1 + i] = static_cast<std::uint8_t>(us >> (56 - 8 * i));
    for (int i = 0; i < 16; ++i) raw[9 + i] = key.id.data[i];
    const std::uint32_t crc = crc_of(raw.data());
    for (int i = 0; i < 4; ++i) raw[kBodySize + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
    return util::base64url_encode(raw);
}

std::optional<store::TaskKey> decode_cursor(std::string_view text) {
    const auto raw = util::base64url_decode(text);
    if (!raw || raw->size() != kRawSize || (*raw)[0] != kVersion) return std::nullopt;
    std::uint32_t crc = 0;
    for (int i = 0; i < 4; ++i) crc = crc << 8 | (*raw)[kBodySize + i];
    if (crc != crc_of(raw->data())) return std::nullopt;

    store::TaskKey key;
    std::uint64_t us = 0;
    for (int i = 0; i < 8; ++i) us = us << 8 | (*raw)[1 + i];
    key.created_us = static_cast<std::int64_t>(us);
    for (int i = 0; i < 16; ++i) key.id.data[i] = (*raw)[9 + i];
    return key;
}

}  // namespace taskd::api
