// util/json_parse: numbers read exactly. Each expected double is spelled as a hexadecimal
// literal (exact by construction), so these cases do not depend on any decimal parser, and
// Boost.JSON 1.81's own reading is shown to differ where it did.
#include "util/json_parse.hpp"
#include "util/json_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/system/errc.hpp>
#include <boost/test/unit_test.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace json = boost::json;
using taskd::util::JsonParseFailure;
using taskd::util::parse_json;

namespace {

std::uint64_t bits(double d) { return std::bit_cast<std::uint64_t>(d); }

json::value number(const std::string& text) {
    auto v = parse_json("[" + text + "]");
    BOOST_TEST_REQUIRE(v.has_value(), text);
    return v->as_array().at(0);
}

double as_double(const std::string& text) {
    const auto v = number(text);
    BOOST_TEST_REQUIRE(v.is_double(), text << " did not read as a double");
    return v.get_double();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_parse)

BOOST_AUTO_TEST_CASE(hard_doubles_read_correctly_rounded) {
    const std::pair<const char*, double> cases[] = {
        {"0.1", 0x1.999999999999ap-4},
        {"-6.360375184993316e+38", -0x1.de805ec99108dp+128},
        {"-2.5e-300", -0x1.ac9a7b3b7302fp-996},
        {"5e-324", 0x0.0000000000001p-1022},                     // smallest subnormal
        {"4.9406564584124654e-324", 0x0.0000000000001p-1022},    // its 17 digits
        {"3e-324", 0x0.0000000000001p-1022},                     // rounds up to it
        {"2.225073858507201e-308", 0x0.fffffffffffffp-1022},     // largest subnormal
        {"2.2250738585072014e-308", 0x1p-1022},                  // smallest normal
        {"1.7976931348623157e308", 0x1.fffffffffffffp+1023},     // largest double
        {"1.7976931348623157E+308", 0x1.fffffffffffffp+1023},
        {"1e23", 0x1.52d02c7e14af6p+76},                         // a classic of bad parsers
        {"8.98846567431158e307", 0x1p+1023},
        {"9007199254740993.0", 0x1p+53},                         // 2^53 + 1: ties to even
        {"0.1000000000000000055511151231257827021181583404541015625", 0x1.999999999999ap-4},
        {"0.30000000000000004", 0x1.3333333333334p-2},
        {"123456789.12345678", 0x1.d6f34547e6b74p+26},
        {"-0.0", -0.0},
        {"1.0", 1.0},
        {"1e2", 100.0},
    };
    for (const auto& [text, expected] : cases)
        BOOST_TEST(bits(as_double(text)) == bits(expected), text);
}

BOOST_AUTO_TEST_CASE(boost_json_alone_reads_some_of_them_one_ulp_off) {
    // Why util/json_parse exists: if Boost.JSON ever reads these right, this test says so, and
    // the replacement can go.
    const double boost_reading = json::parse("[-2.5e-300]").as_array().at(0).get_double();
    BOOST_TEST(bits(boost_reading) != bits(-0x1.ac9a7b3b7302fp-996));
    BOOST_TEST(bits(as_double("-2.5e-300")) == bits(-0x1.ac9a7b3b7302fp-996));
}

BOOST_AUTO_TEST_CASE(below_the_smallest_subnormal_reads_as_zero_with_its_sign) {
    for (const char* text : {"1e-400", "2e-324", "0.0000000000000000000000000000000000000000000000000000000000000000001e-300"}) {
        const double d = as_double(text);
        BOOST_TEST(d == 0.0, text);
        BOOST_TEST(!std::signbit(d), text);
    }
    const double negative = as_double("-1e-400");
    BOOST_TEST(negative == 0.0);
    BOOST_TEST(std::signbit(negative));
}

BOOST_AUTO_TEST_CASE(beyond_the_largest_double_reads_as_infinity) {
    BOOST_TEST(as_double("1e400") == std::numeric_limits<double>::infinity());
    BOOST_TEST(as_double("-1.7976931348623159e308") == -std::numeric_limits<double>::infinity());
}

BOOST_AUTO_TEST_CASE(integers_of_64_bits_are_kept_exactly) {
    BOOST_TEST(number("9007199254740993").as_int64() == 9007199254740993);
    BOOST_TEST(number("-9223372036854775808").as_int64() == std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(number("18446744073709551615").as_uint64() == std::numeric_limits<std::uint64_t>::max());
    BOOST_TEST(number("-0").is_int64());
}

BOOST_AUTO_TEST_CASE(integers_beyond_64_bits_are_refused_not_rounded) {
    for (const std::string text : {"18446744073709551616", "-9223372036854775809", "123456789012345678901234567890"}) {
        JsonParseFailure failure;
        const std::string doc = R"({"a":[1,)" + text + "]}";
        BOOST_TEST(!parse_json(doc, 32, {}, failure).has_value(), text);
        BOOST_TEST(failure.ec == boost::system::errc::value_too_large, text << ": " << failure.ec.message());
        BOOST_TEST(failure.offset <= doc.size());
        BOOST_TEST_REQUIRE(failure.path.size() == 2u, text);
        BOOST_TEST((std::get<std::string>(failure.path[0]) == "a"));
        BOOST_TEST(std::get<std::size_t>(failure.path[1]) == 1u);
    }
}

BOOST_AUTO_TEST_CASE(a_refused_integer_is_located_through_keys_and_indices) {
    JsonParseFailure failure;
    const std::string doc = R"({"x":{"k\u00e9":[{}, [], "s", true, null, 1.5, -2, {"deep":[0, 99999999999999999999]}]}})";
    BOOST_TEST_REQUIRE(!parse_json(doc, 32, {}, failure).has_value());
    BOOST_TEST_REQUIRE(failure.path.size() == 5u);
    BOOST_TEST((std::get<std::string>(failure.path[0]) == "x"));
    BOOST_TEST((std::get<std::string>(failure.path[1]) == "k\xc3\xa9"));
    BOOST_TEST(std::get<std::size_t>(failure.path[2]) == 7u);
    BOOST_TEST((std::get<std::string>(failure.path[3]) == "deep"));
    BOOST_TEST(std::get<std::size_t>(failure.path[4]) == 1u);
    BOOST_TEST_REQUIRE(!parse_json("99999999999999999999", 32, {}, failure).has_value());
    BOOST_TEST(failure.path.empty());
}

BOOST_AUTO_TEST_CASE(grammar_and_depth_as_boost_json) {
    JsonParseFailure failure;
    BOOST_TEST(!parse_json("[1,]", 32, {}, failure).has_value());
    BOOST_TEST(failure.ec == json::error::syntax);
    BOOST_TEST(!parse_json("{} x", 32, {}, failure).has_value());
    BOOST_TEST(failure.ec == json::error::extra_data);
    BOOST_TEST(!parse_json("[[[1]]]", 2, {}, failure).has_value());
    BOOST_TEST(failure.ec == json::error::too_deep);
    BOOST_TEST(!parse_json("\"\xff\"", 32, {}, failure).has_value());  // not UTF-8
    BOOST_TEST(!parse_json("[1", 32, {}, failure).has_value());
    BOOST_TEST(failure.ec == json::error::incomplete);
    const auto v = parse_json(R"( {"k\u00e9y":["s\n",true,null,-1,2.5,{}]} )");
    BOOST_TEST_REQUIRE(v.has_value());
    BOOST_TEST(*v == json::parse(R"({"k\u00e9y":["s\n",true,null,-1,2.5,{}]})"));
}

// Random finite doubles, printed in their shortest form as a client would, read back to the
// same bits, and printed again to the same text.
BOOST_AUTO_TEST_CASE(random_doubles_round_trip_bit_exactly) {
    std::mt19937_64 random(20261205);
    int checked = 0;
    while (checked < 200'000) {
        const double d = std::bit_cast<double>(random());
        if (!std::isfinite(d)) continue;
        char text[32];
        const auto end = std::to_chars(text, text + sizeof text, d).ptr;
        std::string doc(text, end);
        if (doc.find_first_of(".e") == std::string::npos) doc += ".0";  // keep it a double
        const double back = as_double(doc);
        BOOST_TEST_REQUIRE(bits(back) == bits(d), doc);
        BOOST_TEST_REQUIRE(taskd::util::to_json(json::value(back)) == doc);
        ++checked;
    }
}

BOOST_AUTO_TEST_SUITE_END()
