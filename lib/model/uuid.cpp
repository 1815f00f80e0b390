#include "model/uuid.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace taskd::model {
namespace {

// A table, not three range tests: every request that names a task parses its id, and the
// tests' branches cost a tenth of a microsecond per id (perf, GET /tasks/{id}).
constexpr std::array<std::int8_t, 256> kHexValues = [] {
    std::array<std::int8_t, 256> values{};
    values.fill(-1);
    for (int c = '0'; c <= '9'; ++c) values[c] = static_cast<std::int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) values[c] = static_cast<std::int8_t>(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; ++c) values[c] = static_cast<std::int8_t>(c - 'A' + 10);
    return values;
}();

int hex_value(char c) { return kHexValues[static_cast<unsigned char>(c)]; }

}  // namespace

std::optional<Uuid> parse_uuid(std::string_view text) {
    if (text.starts_with("urn:uuid:")) text.remove_prefix(9);
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') text = text.substr(1, text.size() - 2);
    const bool hyphenated = text.size() == 36;
    if (!hyphenated && text.size() != 32) return std::nullopt;

    Uuid id{};
    std::size_t pos = 0;
    for (std::size_t byte = 0; byte < 16; ++byte) {
        if (hyphenated && (pos == 8 || pos == 13 || pos == 18 || pos == 23)) {
            if (text[pos] != '-') return std::nullopt;
            ++pos;
        }
        const int hi = hex_value(text[pos]);
        const int lo = hex_value(text[pos + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        id.data[byte] = static_cast<std::uint8_t>(hi << 4 | lo);
        pos += 2;
    }
    return id;
}

void append_uuid(std::string& out, const Uuid& id) {
    // A byte's two digits from a table in one copy: every task in every answer carries two or
    // three ids (callgrind: 195 instructions per id a digit at a time, about 100 this way).
    static constexpr auto kPairs = [] {
        constexpr char kDigits[] = "0123456789abcdef";
        std::array<std::array<char, 2>, 256> pairs{};
        for (int b = 0; b < 256; ++b) pairs[b] = {kDigits[b >> 4], kDigits[b & 0xf]};
        return pairs;
    }();
    char buf[36];
    char* p = buf;
    for (std::size_t byte = 0; byte < 16; ++byte) {
        std::memcpy(p, kPairs[id.data[byte]].data(), 2);
        p += 2;
        if (byte == 3 || byte == 5 || byte == 7 || byte == 9) *p++ = '-';
    }
    out.append(buf, sizeof buf);
}

std::string to_string(const Uuid& id) {
    std::string out;
    out.reserve(36);
    append_uuid(out, id);
    return out;
}

Uuid random_uuid() {
    // Random bytes are drawn from OpenSSL a page at a time: RAND_bytes per id (its DRBG's
    // lock and bookkeeping) was 2 % of the CPU of a task's lifecycle.
    constexpr std::size_t kIdsPerDraw = 256;
    thread_local std::array<std::uint8_t, kIdsPerDraw * 16> pool;
    thread_local std::size_t used = pool.size();
    if (used == pool.size()) {
        // RAND_bytes fails only when the CSPRNG cannot be seeded; handing out predictable ids
        // instead would be worse than stopping.
        if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) std::abort();
        used = 0;
    }
    Uuid id{};
    std::memcpy(id.data, pool.data() + used, sizeof id.data);
    used += sizeof id.data;
    id.data[6] = static_cast<std::uint8_t>((id.data[6] & 0x0f) | 0x40);  // version 4
    id.data[8] = static_cast<std::uint8_t>((id.data[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return id;
}

}  // namespace taskd::model
