// util/duration: the one reading of a time span that taskd, taskd-agent and taskd-bench share.
#include "util/duration.hpp"

#include <boost/test/unit_test.hpp>

#include <limits>
#include <string>

using taskd::util::parse_duration;
using namespace std::chrono;

BOOST_AUTO_TEST_SUITE(util_duration)

BOOST_AUTO_TEST_CASE(every_unit_and_a_bare_number) {
    BOOST_TEST(parse_duration("250ms").value().count() == 250);
    BOOST_TEST((parse_duration("10s").value() == seconds{10}));
    BOOST_TEST((parse_duration("2").value() == seconds{2}));
    BOOST_TEST((parse_duration("1m").value() == minutes{1}));
    BOOST_TEST((parse_duration("2h").value() == hours{2}));
    BOOST_TEST((parse_duration("7d").value() == hours{7 * 24}));
    BOOST_TEST(parse_duration("0").value().count() == 0);
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused) {
    for (const char* text : {"10 s", "-1s", "fast", "", "s", "1.5s", "10S", "3w", " 1s", "1s "})
        BOOST_TEST_CONTEXT(text) { BOOST_TEST(!parse_duration(text)); }
    // Past what milliseconds hold: refused, not wrapped round.
    BOOST_TEST(!parse_duration(std::to_string(std::numeric_limits<std::int64_t>::max() / 1000) + "d"));
}

BOOST_AUTO_TEST_SUITE_END()
