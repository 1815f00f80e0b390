// util/json_text: JSON text for every body the server sends.
#include "util/json_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

namespace {

using taskd::util::append_json_string;
using taskd::util::to_json;

std::string quoted(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_text)

BOOST_AUTO_TEST_CASE(escapes_what_json_requires) {
    const std::pair<std::string, std::string> cases[] = {
        {"", R"("")"},
        {"plain", R"("plain")"},
        {"a\"b", R"("a\"b")"},
        {"a\\b", R"("a\\b")"},
        {"\\\"", R"("\\\"")"},
        {"line\nnext", R"("line\nnext")"},
        {"\r\t", R"("\r\t")"},
        {"\b\f", R"("\u0008\u000c")"},
        {std::string("\0", 1), R"("\u0000")"},
        {"\x01\x1f", R"("\u0001\u001f")"},
        {"/", R"("/")"},          // no need to escape a solidus
        {"\x7f", "\"\x7f\""},     // DEL is not a control character for JSON
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},                  // UTF-8 passes through
        {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},        // astral plane too
        {"\xe2\x80\xa8", "\"\xe2\x80\xa8\""},                // U+2028 is valid in JSON
        {"x\"\n\"y", R"("x\"\n\"y")"},
    };
    for (const auto& [in, want] : cases) {
        BOOST_TEST_CONTEXT("input of " << in.size() << " bytes: " << want) {
            const std::string got = quoted(in);
            BOOST_TEST(got == want);
            // Whatever was written reads back as the same string.
            BOOST_TEST(boost::json::parse(got).as_string() == in);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_control_character_is_escaped) {
    for (int c = 0; c < 0x20; ++c) {
        BOOST_TEST_CONTEXT("code " << c) {
            const std::string got = quoted(std::string(1, static_cast<char>(c)));
            for (char ch : got) BOOST_TEST(static_cast<unsigned char>(ch) >= 0x20u);
            BOOST_TEST(boost::json::parse(got).as_string() == std::string(1, static_cast<char>(c)));
        }
    }
}

BOOST_AUTO_TEST_CASE(append_json_string_appends) {
    std::string out = "x=";
    append_json_string(out, "y");
    BOOST_TEST(out == R"(x="y")");
}

BOOST_AUTO_TEST_CASE(doubles_print_shortest_and_stay_doubles) {
    const std::pair<double, const char*> cases[] = {
        {1.5, "1.5"},
        {1.0, "1.0"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {100.0, "100.0"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {1e300, "1e+300"},
        {1e-7, "1e-07"},
        {123456.789, "123456.789"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "5e-324"},
    };
    for (const auto& [d, want] : cases) {
        BOOST_TEST_CONTEXT(want) {
            const std::string got = to_json(boost::json::value(d));
            BOOST_TEST(got == want);
            const auto back = boost::json::parse(got);
            BOOST_TEST_REQUIRE(back.is_double());  // a double stays a double
            BOOST_TEST(back.get_double() == d);
        }
    }
}

BOOST_AUTO_TEST_CASE(non_finite_doubles_print_null) {
    BOOST_TEST(to_json(boost::json::value(std::numeric_limits<double>::infinity())) == "null");
    BOOST_TEST(to_json(boost::json::value(-std::numeric_limits<double>::infinity())) == "null");
    BOOST_TEST(to_json(boost::json::value(std::numeric_limits<double>::quiet_NaN())) == "null");
}

BOOST_AUTO_TEST_CASE(values_print_compactly_in_order) {
    const std::pair<const char*, const char*> cases[] = {
        {"null", "null"},
        {"true", "true"},
        {"false", "false"},
        {"0", "0"},
        {"-9223372036854775808", "-9223372036854775808"},
        {"18446744073709551615", "18446744073709551615"},
        {"[]", "[]"},
        {"{}", "{}"},
        {R"( { "b" : 1 , "a" : [ 1 , 2.5 , "x" , null ] } )", R"({"b":1,"a":[1,2.5,"x",null]})"},
        {R"({"k\"ey":{"n\u0001":[[],{}]}})", R"({"k\"ey":{"n\u0001":[[],{}]}})"},
    };
    for (const auto& [in, want] : cases) {
        BOOST_TEST_CONTEXT(in) { BOOST_TEST(to_json(boost::json::parse(in)) == want); }
    }
}

BOOST_AUTO_TEST_SUITE_END()
