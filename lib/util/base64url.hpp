// base64url without padding (RFC 4648 section 5): tokens and cursors travel in headers and
// query strings, where '+', '/' and '=' would need escaping.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace taskd::util {

std::string base64url_encode(std::span<const std::uint8_t> bytes);

// nullopt for a character outside the alphabet, an impossible length, or non-zero padding bits
// (so that every byte string has exactly one encoding).
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

}  // namespace taskd::util
