// model/time: RFC 3339 output with exactly six fraction digits, and the ManualClock seam.
#include "model/time.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace {

using taskd::model::from_micros;
using taskd::model::to_rfc3339;

struct Case {
    std::int64_t micros;
    const char* text;
};

}  // namespace

// Inside a namespace: a suite is a namespace, and ::time is already a function.
namespace taskd_tests {

BOOST_AUTO_TEST_SUITE(time)

BOOST_AUTO_TEST_CASE(to_rfc3339_exact_strings) {
    // Micros computed independently (Python datetime) from the expected text.
    const Case cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {1, "1970-01-01T00:00:00.000001Z"},
        {1'795'558'143'123'456, "2026-11-24T22:09:03.123456Z"},
        {1'709'210'096'789'012, "2024-02-29T12:34:56.789012Z"},     // leap day
        {1'709'251'200'000'001, "2024-03-01T00:00:00.000001Z"},     // the day after
        {946'684'800'000'000, "2000-01-01T00:00:00.000000Z"},       // zero micros keep six digits
        {253'402'300'799'999'999, "9999-12-31T23:59:59.999999Z"},   // last representable second
        {-1, "1969-12-31T23:59:59.999999Z"},                        // before the epoch
        {-62'135'596'800'000'000, "0001-01-01T00:00:00.000000Z"},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("micros " << c.micros) {
            const std::string text = to_rfc3339(from_micros(c.micros));
            BOOST_TEST(text == c.text);
            BOOST_TEST(text.size() == 27u);
        }
    }
}

BOOST_AUTO_TEST_CASE(append_rfc3339_appends) {
    std::string out = "at ";
    taskd::model::append_rfc3339(out, from_micros(0));
    BOOST_TEST(out == "at 1970-01-01T00:00:00.000000Z");
}

BOOST_AUTO_TEST_CASE(micros_conversions_round_trip) {
    for (std::int64_t us : {std::int64_t{0}, std::int64_t{-5}, std::int64_t{1'795'558'143'123'456}}) {
        BOOST_TEST_CONTEXT("micros " << us) { BOOST_TEST(taskd::model::to_micros(from_micros(us)) == us); }
    }
}

BOOST_AUTO_TEST_CASE(manual_clock_moves_only_when_told) {
    taskd::model::ManualClock clock(from_micros(1'000'000));
    BOOST_TEST(taskd::model::to_micros(clock.now()) == 1'000'000);
    BOOST_TEST(taskd::model::to_micros(clock.now()) == 1'000'000);
    clock.advance(std::chrono::seconds{2});
    BOOST_TEST(taskd::model::to_micros(clock.now()) == 3'000'000);
    clock.set(from_micros(42));
    BOOST_TEST(taskd::model::to_micros(clock.now()) == 42);
}

BOOST_AUTO_TEST_CASE(system_clock_prints_as_rfc3339) {
    const std::string text = to_rfc3339(taskd::model::SystemClock{}.now());
    BOOST_TEST(text.size() == 27u);
    BOOST_TEST(text[10] == 'T');
    BOOST_TEST(text.back() == 'Z');
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace taskd_tests
