#include "util/base64url.hpp"

namespace taskd::util {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
    std::string out;
    out.reserve((bytes.size() * 8 + 5) / 6);
    unsigned bits = 0;
    int nbits = 0;
    for (std::uint8_t byte : bytes) {
        bits = (bits << 8) | byte;
        nbits += 8;
        while (nbits >= 6) {
            nbits -= 6;
            out.push_back(kAlphabet[(bits >> nbits) & 0x3f]);
        }
    }
    if (nbits > 0) out.push_back(kAlphabet[(bits << (6 - nbits)) & 0x3f]);
    return out;
}

std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;  // no byte count encodes to this length
    std::vector<std::uint8_t> out;
    out.reserve(text.size() * 6 / 8);
    unsigned bits = 0;
    int nbits = 0;
    for (char c : text) {
        const int v = sextet(c);
        if (v < 0) return std::nullopt;
        bits = ((bits << 6) | static_cast<unsigned>(v)) & 0xffff;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out.push_back(static_cast<std::uint8_t>(bits >> nbits));
        }
    }
    if ((bits & ((1u << nbits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace taskd::util
