// util/base64url: unpadded RFC 4648 section 5, one encoding per byte string.
#include "util/base64url.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using taskd::util::base64url_decode;
using taskd::util::base64url_encode;

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(base64url)

BOOST_AUTO_TEST_CASE(rfc4648_vectors_without_padding) {
    const std::pair<const char*, const char*> cases[] = {
        {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : cases) {
        BOOST_TEST_CONTEXT("'" << plain << "'") {
            BOOST_TEST(base64url_encode(bytes(plain)) == encoded);
            const auto back = base64url_decode(encoded);
            BOOST_TEST_REQUIRE(back.has_value());
            BOOST_TEST((*back == bytes(plain)));
        }
    }
}

BOOST_AUTO_TEST_CASE(uses_the_url_alphabet) {
    const std::vector<std::uint8_t> high{0xfb, 0xff, 0xbf};
    BOOST_TEST(base64url_encode(high) == "-_-_");  // '+' and '/' in standard base64
    const std::vector<std::uint8_t> all62{0xf8};
    BOOST_TEST(base64url_encode(all62) == "-A");
    const auto back = base64url_decode("-_-_");
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((*back == high));
}

BOOST_AUTO_TEST_CASE(round_trips_every_length) {
    std::mt19937 rng(7);
    for (std::size_t n = 0; n < 70; ++n) {
        std::vector<std::uint8_t> data(n);
        for (auto& b : data) b = static_cast<std::uint8_t>(rng());
        BOOST_TEST_CONTEXT(n << " bytes") {
            const std::string text = base64url_encode(data);
            BOOST_TEST(text.size() == (n * 8 + 5) / 6);
            BOOST_TEST(text.find_first_of("+/=") == std::string::npos);
            const auto back = base64url_decode(text);
            BOOST_TEST_REQUIRE(back.has_value());
            BOOST_TEST((*back == data));
        }
    }
}

BOOST_AUTO_TEST_CASE(every_single_byte_round_trips) {
    for (int b = 0; b < 256; ++b) {
        const std::vector<std::uint8_t> one{static_cast<std::uint8_t>(b)};
        const auto back = base64url_decode(base64url_encode(one));
        BOOST_TEST_CONTEXT("byte " << b) {
            BOOST_TEST_REQUIRE(back.has_value());
            BOOST_TEST((*back == one));
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_what_is_not_an_encoding) {
    const std::string_view rejected[] = {
        "Z",         // one character: no byte count gives length 1 mod 4
        "Zm9vY",     // 5 characters
        "Zg==",      // padding is not part of this alphabet
        "Zm9v+A",    // standard-base64 characters
        "Zm9v/A",
        "Zm 9v",     // whitespace
        "Zm9v\n",
        "Zh",        // non-zero padding bits: "Zg" is the one encoding of "f"
        "Zm9",       // "fo" is Zm8; Zm9 has a padding bit set
        "Zm9vYh",
        "Zm9vYmF",
    };
    for (std::string_view text : rejected) {
        BOOST_TEST_CONTEXT("'" << text << "'") { BOOST_TEST(!base64url_decode(text).has_value()); }
    }
    BOOST_TEST(!base64url_decode(std::string_view("Zm\0v", 4)).has_value());
    BOOST_TEST(!base64url_decode("Zm9v\xc3\xa9").has_value());
}

BOOST_AUTO_TEST_CASE(empty_decodes_to_nothing) {
    const auto back = base64url_decode("");
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(back->empty());
}

BOOST_AUTO_TEST_SUITE_END()
