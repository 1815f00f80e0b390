// Bearer tokens: generation, hashing, constant-time comparison, header parsing.
//
// Tokens are 256 random bits from OpenSSL, base64url without padding (43 characters). Only
// their SHA-256 is kept; a presented token is hashed and the hashes are compared in constant
// time, so neither the stored secret nor the comparison leaks through timing.
#pragma once

#include "model/agent.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace taskd::auth {

using model::TokenHash;

std::string generate_token();
TokenHash hash_token(std::string_view token);
bool same_hash(const TokenHash& a, const TokenHash& b);

// "Bearer <token>" (scheme case-insensitive, surrounding spaces ignored) -> the token;
// nullopt when the header is not of that form or the token is empty.
std::optional<std::string_view> parse_bearer(std::string_view authorization);

}  // namespace taskd::auth
