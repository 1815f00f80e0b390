// model/uuid: parsing what clients send, printing the canonical form, random v4 ids.
#include "model/uuid.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

namespace {

using taskd::model::parse_uuid;
using taskd::model::to_string;

constexpr std::string_view kCanonical = "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f";

}  // namespace

BOOST_AUTO_TEST_SUITE(uuid)

BOOST_AUTO_TEST_CASE(accepts_every_form_python_accepted) {
    const std::string_view accepted[] = {
        "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f",
        "7B1E2F4C-0A9D-4C3E-8F21-5D6B7A8C9E0F",
        "7b1E2f4C-0A9d-4c3E-8F21-5d6B7a8C9e0F",
        "7b1e2f4c0a9d4c3e8f215d6b7a8c9e0f",
        "7B1E2F4C0A9D4C3E8F215D6B7A8C9E0F",
        "{7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f}",
        "{7b1e2f4c0a9d4c3e8f215d6b7a8c9e0f}",
        "urn:uuid:7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f",
        "urn:uuid:7b1e2f4c0a9d4c3e8f215d6b7a8c9e0f",
    };
    for (std::string_view text : accepted) {
        BOOST_TEST_CONTEXT("input " << text) {
            const auto id = parse_uuid(text);
            BOOST_TEST_REQUIRE(id.has_value());
            BOOST_TEST(to_string(*id) == kCanonical);
        }
    }
}

BOOST_AUTO_TEST_CASE(parses_bytes_in_order) {
    const auto id = parse_uuid("00112233-4455-6677-8899-aabbccddeeff");
    BOOST_TEST_REQUIRE(id.has_value());
    for (std::size_t i = 0; i < 16; ++i) {
        BOOST_TEST_CONTEXT("byte " << i) { BOOST_TEST(id->data[i] == static_cast<std::uint8_t>(i * 0x11)); }
    }
}

BOOST_AUTO_TEST_CASE(rejects_malformed_text) {
    const std::string_view rejected[] = {
        "",
        "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0",      // 35 characters
        "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f0",    // 37 characters
        "7b1e2f4c0a9d4c3e8f215d6b7a8c9e0",          // 31 hex digits
        "7b1e2f4c0a9d4c3e8f215d6b7a8c9e0f0",        // 33 hex digits
        "7b1e2f4c0-a9d-4c3e-8f21-5d6b7a8c9e0f",     // first hyphen one place late
        "7b1e2f4c-0a9d4-c3e-8f21-5d6b7a8c9e0f",     // second hyphen misplaced
        "7b1e2f4c-0a9d-4c3e8-f21-5d6b7a8c9e0f",     // third hyphen misplaced
        "7b1e2f4c-0a9d-4c3e-8f215-d6b7a8c9e0f",     // fourth hyphen misplaced
        "7b1e2f4c_0a9d_4c3e_8f21_5d6b7a8c9e0f",     // wrong separator
        "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0g",     // non-hex
        "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0 ",     // trailing space
        " 7b1e2f4c0a9d4c3e8f215d6b7a8c9e0f",        // leading space (33)
        "7b1e2f4c0a9d4c3e8f215d6b7a8c9e0x",         // non-hex bare
        "+b1e2f4c0a9d4c3e8f215d6b7a8c9e0f",         // sign
        "{7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f",    // unbalanced brace
        "urn:uuid:",                                 // prefix only
        "{}",
        "------------------------------------",     // 36 hyphens
    };
    for (std::string_view text : rejected) {
        BOOST_TEST_CONTEXT("input '" << text << "'") { BOOST_TEST(!parse_uuid(text).has_value()); }
    }
}

BOOST_AUTO_TEST_CASE(rejects_nul_inside) {
    std::string text(kCanonical);
    text[3] = '\0';
    BOOST_TEST(!parse_uuid(text).has_value());
}

BOOST_AUTO_TEST_CASE(to_string_is_lower_case_and_round_trips) {
    const auto id = parse_uuid("ABCDEF01-2345-6789-ABCD-EF0123456789");
    BOOST_TEST_REQUIRE(id.has_value());
    const std::string text = to_string(*id);
    BOOST_TEST(text == "abcdef01-2345-6789-abcd-ef0123456789");
    BOOST_TEST(text.size() == 36u);
    const auto again = parse_uuid(text);
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST((*again == *id));

    std::string out = "prefix:";
    taskd::model::append_uuid(out, *id);
    BOOST_TEST(out == "prefix:abcdef01-2345-6789-abcd-ef0123456789");
}

BOOST_AUTO_TEST_CASE(nil_uuid_prints_zeros) {
    BOOST_TEST(to_string(taskd::model::Uuid{}) == "00000000-0000-0000-0000-000000000000");
}

BOOST_AUTO_TEST_CASE(random_uuid_is_version_4_rfc_variant_and_unique) {
    const auto a = taskd::model::random_uuid();
    const auto b = taskd::model::random_uuid();
    BOOST_TEST((a != b));
    for (const auto& id : {a, b}) {
        BOOST_TEST_CONTEXT("id " << to_string(id)) {
            BOOST_TEST((id.data[6] >> 4) == 4);
            BOOST_TEST((id.data[8] & 0xc0) == 0x80);
            const std::string text = to_string(id);
            BOOST_TEST(text[14] == '4');
            BOOST_TEST(std::string_view("89ab").find(text[19]) != std::string_view::npos);
            const auto parsed = parse_uuid(text);
            BOOST_TEST_REQUIRE(parsed.has_value());
            BOOST_TEST((*parsed == id));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
