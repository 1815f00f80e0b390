#include "auth/token.hpp"

#include "util/base64url.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

namespace taskd::auth {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace

std::string generate_token() {
    std::uint8_t raw[32];
    // Without a seeded CSPRNG every token would be guessable; refusing to run is the safe answer.
    if (RAND_bytes(raw, sizeof raw) != 1) std::abort();
    return util::base64url_encode(raw);
}

TokenHash hash_token(std::string_view token) {
    // Every request hashes its bearer token. OpenSSL 3's SHA256() looks the algorithm up and
    // allocates a digest context on each call (EVP_MD_fetch alone was more than half of the
    // hash's cost, perf on a GET): the algorithm is fetched once (EVP_MD objects may be
    // shared by threads) and each thread keeps a context.
    static EVP_MD* const sha256 = [] {
        EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (!md) std::abort();  // no SHA-256 in this OpenSSL: no token could be checked
        return md;
    }();
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                      &EVP_MD_CTX_free);
    TokenHash hash{};
    unsigned int size = 0;
    // SHA-256 of a buffer in memory cannot fail but for want of memory.
    if (!context || EVP_DigestInit_ex2(context.get(), sha256, nullptr) != 1 ||
        EVP_DigestUpdate(context.get(), token.data(), token.size()) != 1 ||
        EVP_DigestFinal_ex(context.get(), hash.data(), &size) != 1 || size != hash.size())
        std::abort();
    return hash;
}

bool same_hash(const TokenHash& a, const TokenHash& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

std::optional<std::string_view> parse_bearer(std::string_view authorization) {
    authorization = trim(authorization);
    const auto space = authorization.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    if (!iequals(authorization.substr(0, space), "bearer")) return std::nullopt;
    const std::string_view token = trim(authorization.substr(space + 1));
    if (token.empty()) return std::nullopt;
    return token;
}

}  // namespace taskd::auth
