// http::make_request_id: 32 lower-case hex digits, never the same twice, in one thread or across
// threads (each thread has its own random prefix and count).
#include "http/access_log.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

bool is_hex32(const std::string& id) {
    if (id.size() != 32) return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::vector<std::string> make_ids(std::size_t n) {
    std::vector<std::string> ids(n);
    for (auto& id : ids) taskd::http::make_request_id(id);
    return ids;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(request_id)

BOOST_AUTO_TEST_CASE(ids_are_hex_and_unique_within_and_across_threads) {
    std::vector<std::string> a, b;
    std::thread other([&] { b = make_ids(100'000); });
    a = make_ids(100'000);
    other.join();
    std::unordered_set<std::string> seen;
    for (const auto* ids : {&a, &b}) {
        for (const auto& id : *ids) {
            BOOST_TEST_REQUIRE(is_hex32(id), id);
            BOOST_TEST_REQUIRE(seen.insert(id).second, "repeated: " << id);
        }
    }
    // The second half (the mixed count) changes in many digits from one id to the next, so that
    // ids do not read as a counter.
    std::size_t differing = 0;
    for (std::size_t i = 16; i < 32; ++i) differing += a[0][i] != a[1][i];
    BOOST_TEST(differing >= 8u);
}

BOOST_AUTO_TEST_SUITE_END()
