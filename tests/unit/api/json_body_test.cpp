// api/json_body: the rules every JSON body obeys (API.md "Errors", "Fine print").
#include "api/json_body.hpp"
#include "loc_text.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

namespace {

using taskd::test::loc_text;
using taskd::api::parse_json_body;
using taskd::model::Loc;

struct Refused {
    std::string body;
    const char* loc;
    const char* type;
};

void check_refused(const Refused& r, std::size_t max_depth = 32) {
    const auto got = parse_json_body(r.body, max_depth);
    BOOST_TEST_REQUIRE(got.has_error());
    BOOST_TEST((got.error().code == taskd::model::Errc::validation));
    BOOST_TEST_REQUIRE(got.error().fields.size() == 1u);
    BOOST_TEST(loc_text(got.error().fields[0].loc) == r.loc);
    BOOST_TEST(got.error().fields[0].type == r.type);
    BOOST_TEST(!got.error().fields[0].msg.empty());
}

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string nested_objects(std::size_t depth) {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) s += R"({"k":)";
    s += "1";
    s += std::string(depth, '}');
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_body)

BOOST_AUTO_TEST_CASE(accepts_valid_documents) {
    for (std::string_view body : {R"({"a":1})", "[]", "null", "1", R"("\u00e9\ud83d\ude00")", " {\"x\": [1, 2.5]} \n",
                                  "{\"s\":\"caf\xc3\xa9\"}", R"({"n":1e308,"m":-1e-999999})", R"("\u0000")"}) {
        BOOST_TEST_CONTEXT(body) { BOOST_TEST(parse_json_body(body, 32).has_value()); }
    }
    const auto v = parse_json_body(R"({"a":[1,{"b":"c"}]})", 32);
    BOOST_TEST_REQUIRE(v.has_value());
    BOOST_TEST(v->at("a").at(1).at("b").as_string() == "c");
}

BOOST_AUTO_TEST_CASE(empty_body_is_missing) {
    for (std::string_view body : {"", " ", "\r\n\t "}) {
        BOOST_TEST_CONTEXT("'" << body << "'") { check_refused({std::string(body), R"(["body"])", "value_error.missing"}); }
    }
}

BOOST_AUTO_TEST_CASE(syntax_errors_point_at_their_offset) {
    const Refused cases[] = {
        {R"({"a":})", R"(["body",5])", "value_error.jsondecode"},
        {"[1,2,,]", R"(["body",5])", "value_error.jsondecode"},
        {"{} x", R"(["body",3])", "value_error.jsondecode"},
        {"{\"a\":1,}", R"(["body",7])", "value_error.jsondecode"},
        {"x", R"(["body",0])", "value_error.jsondecode"},
        {"{'a':1}", R"(["body",1])", "value_error.jsondecode"},
        {std::string("{\"a\":\"\0\"}", 9), R"(["body",6])", "value_error.jsondecode"},  // raw control character
    };
    for (const Refused& r : cases) {
        BOOST_TEST_CONTEXT(r.body) { check_refused(r); }
    }
}

BOOST_AUTO_TEST_CASE(truncated_documents_are_refused) {
    const std::string whole = R"({"tenant_id":"x","payload":{"a":[1,2,{"b":null}]}})";
    for (std::size_t n = 1; n < whole.size(); ++n) {
        BOOST_TEST_CONTEXT("first " << n << " bytes") {
            const auto got = parse_json_body(whole.substr(0, n), 32);
            BOOST_TEST_REQUIRE(got.has_error());
            BOOST_TEST(got.error().fields.at(0).type == "value_error.jsondecode");
            BOOST_TEST(loc_text(got.error().fields.at(0).loc).starts_with(R"(["body",)"));
        }
    }
}

BOOST_AUTO_TEST_CASE(depth_limit_is_inclusive) {
    for (std::size_t max : {std::size_t{1}, std::size_t{3}, std::size_t{32}}) {
        BOOST_TEST_CONTEXT("max depth " << max) {
            BOOST_TEST(parse_json_body(nested_arrays(max), max).has_value());
            BOOST_TEST(parse_json_body(nested_objects(max), max).has_value());
            check_refused({nested_arrays(max + 1), R"(["body"])", "value_error.jsondecode"}, max);
            check_refused({nested_objects(max + 1), R"(["body"])", "value_error.jsondecode"}, max);
        }
    }
    // Far deeper than the limit: refused the same way, without recursing through it.
    check_refused({nested_arrays(100'000), R"(["body"])", "value_error.jsondecode"}, 32);
    // Scalars have no depth.
    BOOST_TEST(parse_json_body("1", 1).has_value());
}

BOOST_AUTO_TEST_CASE(non_finite_numbers_point_at_the_number) {
    const Refused cases[] = {
        {R"({"payload":{"x":1e999999}})", R"(["body","payload","x"])", "value_error.number.not_finite"},
        {"1e999999", R"(["body"])", "value_error.number.not_finite"},
        {"[1,-1e999999]", R"(["body",1])", "value_error.number.not_finite"},
        {R"({"a":[0,{"b":[1e309]}]})", R"(["body","a",1,"b",0])", "value_error.number.not_finite"},
        {R"({"ok":1.5,"bad":2e400})", R"(["body","bad"])", "value_error.number.not_finite"},
    };
    for (const Refused& r : cases) {
        BOOST_TEST_CONTEXT(r.body) { check_refused(r); }
    }
}

BOOST_AUTO_TEST_CASE(lone_surrogates_and_invalid_utf8_are_refused) {
    const std::string bodies[] = {
        R"("\ud800")",
        R"({"a":"\ud800"})",
        R"({"a":"\udc00"})",
        R"({"a":"x\ud800y"})",
        R"({"a":"\ud800\u0041"})",
        R"({"\ud800":1})",
        "\"\xff\"",
        "\"\xc3\"",               // truncated sequence
        "\"\xc0\xaf\"",           // overlong '/'
        "\"\xed\xa0\x80\"",       // a surrogate encoded in UTF-8
        "\"\xf4\x90\x80\x80\"",   // beyond U+10FFFF
        "{\"k\xfe\":1}",
    };
    for (const std::string& body : bodies) {
        BOOST_TEST_CONTEXT(body) {
            const auto got = parse_json_body(body, 32);
            BOOST_TEST_REQUIRE(got.has_error());
            BOOST_TEST_REQUIRE(got.error().fields.size() == 1u);
            BOOST_TEST(got.error().fields[0].type == "value_error.jsondecode");
            BOOST_TEST(loc_text(got.error().fields[0].loc).starts_with(R"(["body",)"));
        }
    }
}

BOOST_AUTO_TEST_CASE(field_error_builds_one_validation_error) {
    const auto e = taskd::api::field_error(Loc{"query", "cursor"}, "bad", "value_error.cursor");
    BOOST_TEST((e.code == taskd::model::Errc::validation));
    BOOST_TEST_REQUIRE(e.fields.size() == 1u);
    BOOST_TEST(loc_text(e.fields[0].loc) == R"(["query","cursor"])");
    BOOST_TEST(e.fields[0].msg == "bad");
    BOOST_TEST(e.fields[0].type == "value_error.cursor");
}

BOOST_AUTO_TEST_SUITE_END()
