// api/cursor: the opaque position of GET /tasks paging.
#include "api/cursor.hpp"

#include "util/base64url.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

using taskd::api::decode_cursor;
using taskd::api::encode_cursor;
using taskd::store::TaskKey;

const taskd::model::Uuid kId = *taskd::model::parse_uuid("7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f");

// Sets the last 4 bytes to the CRC-32 (IEEE, reflected, as boost::crc_32_type) of the first 25,
// big-endian, and encodes the result.
std::string with_crc(std::vector<std::uint8_t> raw) {
    std::uint32_t crc = 0xffffffffu;
    for (std::size_t i = 0; i < 25; ++i) {
        crc ^= raw[i];
        for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xffffffffu;
    for (int i = 0; i < 4; ++i) raw[25 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
    return taskd::util::base64url_encode(raw);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cursor)

BOOST_AUTO_TEST_CASE(round_trips_every_key) {
    const std::int64_t created[] = {0,
                                    1,
                                    -1,
                                    1'795'558'143'123'456,
                                    -62'135'596'800'000'000,
                                    std::numeric_limits<std::int64_t>::max(),
                                    std::numeric_limits<std::int64_t>::min(),
                                    0x0102030405060708};
    for (std::int64_t us : created) {
        for (const auto& id : {kId, taskd::model::Uuid{}, taskd::model::random_uuid()}) {
            BOOST_TEST_CONTEXT("created_us " << us << " id " << taskd::model::to_string(id)) {
                const TaskKey key{us, id};
                const std::string text = encode_cursor(key);
                BOOST_TEST(!text.empty());
                BOOST_TEST(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                           std::string::npos);  // travels in a query string unescaped
                const auto back = decode_cursor(text);
                BOOST_TEST_REQUIRE(back.has_value());
                BOOST_TEST(back->created_us == us);
                BOOST_TEST((back->id == id));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(distinct_keys_give_distinct_cursors) {
    BOOST_TEST(encode_cursor({1, kId}) != encode_cursor({2, kId}));
    BOOST_TEST(encode_cursor({1, kId}) != encode_cursor({1, taskd::model::Uuid{}}));
    BOOST_TEST(encode_cursor({1, kId}) == encode_cursor({1, kId}));
}

BOOST_AUTO_TEST_CASE(rejects_garbage) {
    const std::string rejected[] = {
        "",
        "x",
        "not a cursor",
        "AAAA",
        "!!!!",
        "====",
        std::string(39, 'A'),  // the right length (29 bytes), all zero: wrong version and CRC
        std::string(500, 'A'),
        "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f",
    };
    for (const std::string& text : rejected) {
        BOOST_TEST_CONTEXT("'" << text << "'") { BOOST_TEST(!decode_cursor(text).has_value()); }
    }
}

BOOST_AUTO_TEST_CASE(rejects_every_truncation_and_extension) {
    const std::string good = encode_cursor({1'795'558'143'123'456, kId});
    for (std::size_t n = 0; n < good.size(); ++n) {
        BOOST_TEST_CONTEXT("first " << n << " characters") { BOOST_TEST(!decode_cursor(good.substr(0, n)).has_value()); }
    }
    BOOST_TEST(!decode_cursor(good + "A").has_value());
    BOOST_TEST(!decode_cursor(good + "AA").has_value());
    BOOST_TEST(!decode_cursor(good + "AAAA").has_value());
    BOOST_TEST(!decode_cursor(good.substr(1)).has_value());
}

BOOST_AUTO_TEST_CASE(rejects_every_changed_character) {
    const std::string good = encode_cursor({1'795'558'143'123'456, kId});
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (char c : {alphabet[(alphabet.find(good[i]) + 1) % 64], alphabet[(alphabet.find(good[i]) + 33) % 64], '.'}) {
            std::string bad = good;
            bad[i] = c;
            BOOST_TEST_CONTEXT("position " << i << " -> " << c) { BOOST_TEST(!decode_cursor(bad).has_value()); }
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_another_version_even_with_a_valid_crc) {
    // Re-encode the raw bytes with another version and a CRC recomputed over them: a format
    // this server does not know must be refused, not misread.
    auto raw = taskd::util::base64url_decode(encode_cursor({42, kId}));
    BOOST_TEST_REQUIRE(raw.has_value());
    BOOST_TEST_REQUIRE(raw->size() == 29u);
    BOOST_TEST((*raw)[0] == 1);
    for (std::uint8_t version : {0, 2, 255}) {
        BOOST_TEST_CONTEXT("version " << int(version)) {
            (*raw)[0] = version;
            BOOST_TEST(!decode_cursor(with_crc(*raw)).has_value());
        }
    }
    // The same recomputation with version 1 decodes: the CRC above is the right one.
    (*raw)[0] = 1;
    const auto back = decode_cursor(with_crc(*raw));
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(back->created_us == 42);
}

BOOST_AUTO_TEST_SUITE_END()
