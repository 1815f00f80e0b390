// http/connection_quota: the global limit, the per-address limit, and that a release frees the
// slot of the address it came from.
#include "http/connection_quota.hpp"

#include <boost/test/unit_test.hpp>

namespace {

using taskd::http::ConnectionQuota;
using Verdict = ConnectionQuota::Verdict;
namespace ip = boost::asio::ip;

const ip::address kA = ip::make_address("127.0.0.2");
const ip::address kB = ip::make_address("127.0.0.1");

}  // namespace

BOOST_AUTO_TEST_SUITE(http_connection_quota)

BOOST_AUTO_TEST_CASE(one_address_is_held_to_its_share_and_others_still_get_in) {
    ConnectionQuota quota(10, 3);
    for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE((quota.admit(kA) == Verdict::admitted));
    BOOST_TEST((quota.admit(kA) == Verdict::address_full));
    BOOST_TEST((quota.admit(kB) == Verdict::admitted));
    BOOST_TEST(quota.open() == 4u);
    BOOST_TEST(quota.open_from(kA) == 3u);

    quota.release(kA);
    BOOST_TEST((quota.admit(kA) == Verdict::admitted));
    BOOST_TEST((quota.admit(kA) == Verdict::address_full));
}

BOOST_AUTO_TEST_CASE(the_server_limit_comes_first) {
    ConnectionQuota quota(2, 5);
    BOOST_TEST_REQUIRE((quota.admit(kA) == Verdict::admitted));
    BOOST_TEST_REQUIRE((quota.admit(kB) == Verdict::admitted));
    BOOST_TEST((quota.admit(kA) == Verdict::server_full));
    BOOST_TEST((quota.admit(ip::make_address("10.0.0.1")) == Verdict::server_full));
    quota.release(kB);
    BOOST_TEST((quota.admit(kA) == Verdict::admitted));
    BOOST_TEST(quota.open_from(kB) == 0u);
}

BOOST_AUTO_TEST_CASE(zero_per_address_means_no_limit_per_address) {
    ConnectionQuota quota(100, 0);
    for (int i = 0; i < 100; ++i) BOOST_TEST_REQUIRE((quota.admit(kA) == Verdict::admitted));
    BOOST_TEST((quota.admit(kA) == Verdict::server_full));
}

BOOST_AUTO_TEST_CASE(an_ipv4_mapped_address_counts_as_its_ipv4_address) {
    ConnectionQuota quota(10, 1);
    BOOST_TEST_REQUIRE((quota.admit(ip::make_address("::ffff:192.0.2.7")) == Verdict::admitted));
    BOOST_TEST((quota.admit(ip::make_address("192.0.2.7")) == Verdict::address_full));
    quota.release(ip::make_address("192.0.2.7"));
    BOOST_TEST(quota.open() == 0u);
    BOOST_TEST((quota.admit(ip::make_address("::1")) == Verdict::admitted));
}

BOOST_AUTO_TEST_SUITE_END()
