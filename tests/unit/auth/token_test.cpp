// auth/token: bearer tokens: generation, SHA-256 hashing, comparison, header parsing.
#include "auth/token.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <set>
#include <string>
#include <string_view>

namespace {

using taskd::auth::hash_token;
using taskd::auth::parse_bearer;

std::string hex(const taskd::auth::TokenHash& h) {
    std::string out;
    char buf[3];
    for (auto b : h) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        out += buf;
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(token)

BOOST_AUTO_TEST_CASE(generated_tokens_are_43_base64url_characters_and_unique) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string t = taskd::auth::generate_token();
        BOOST_TEST_CONTEXT("token " << t) {
            BOOST_TEST(t.size() == 43u);
            BOOST_TEST(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                       std::string::npos);
            BOOST_TEST(seen.insert(t).second);
        }
    }
}

BOOST_AUTO_TEST_CASE(hash_is_sha256) {
    // FIPS 180-2 test vectors.
    BOOST_TEST(hex(hash_token("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    BOOST_TEST(hex(hash_token("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    BOOST_TEST(hex(hash_token("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    BOOST_TEST(hex(hash_token(std::string_view("a\0b", 3))) != hex(hash_token("a")));  // the whole view is hashed
}

BOOST_AUTO_TEST_CASE(same_hash_compares_every_byte) {
    const auto a = hash_token("token-a");
    BOOST_TEST(taskd::auth::same_hash(a, hash_token("token-a")));
    BOOST_TEST(!taskd::auth::same_hash(a, hash_token("token-b")));
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto b = a;
        b[i] ^= 0x01;
        BOOST_TEST_CONTEXT("byte " << i) { BOOST_TEST(!taskd::auth::same_hash(a, b)); }
    }
}

BOOST_AUTO_TEST_CASE(parse_bearer_accepts) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"Bearer x", "x"},
        {"bearer x", "x"},
        {"BEARER x", "x"},
        {"BeArEr abc.DEF-_~+/=", "abc.DEF-_~+/="},
        {"  Bearer x  ", "x"},
        {"\tBearer x\t", "x"},
        {"Bearer    x", "x"},
    };
    for (const auto& [header, token] : cases) {
        BOOST_TEST_CONTEXT("'" << header << "'") {
            const auto got = parse_bearer(header);
            BOOST_TEST_REQUIRE(got.has_value());
            BOOST_TEST(*got == token);
        }
    }
}

BOOST_AUTO_TEST_CASE(parse_bearer_rejects) {
    for (std::string_view header : {"", " ", "Bearer", "Bearer ", "Bearer   ", "bearer\t", "Basic x", "Basic dXNlcjpwYXNz",
                                    "Bearerx", "Token x", "x", "Bear x", "Bearers x"}) {
        BOOST_TEST_CONTEXT("'" << header << "'") { BOOST_TEST(!parse_bearer(header).has_value()); }
    }
}

BOOST_AUTO_TEST_SUITE_END()
