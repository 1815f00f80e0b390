// Numbers in payloads and results are stored exactly (README, "What differs from the original
// service"): every finite double a client sends comes back bit-identical, printed in its
// shortest form; integers of up to 64 bits come back as sent; an integer beyond 64 bits is
// refused with 422, never rounded; a magnitude below the smallest subnormal reads as 0, one
// above the largest double is refused as not finite. Checked on the answer's text, so that
// the check does not rest on a client-side JSON parser, and again after a restart (the journal
// keeps the text).
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

// A double in the text a client would send (Python's repr: the shortest that reads back), kept
// recognisable as a double as the server prints it ("1.0", not "1").
std::string shortest(double d) {
    char text[32];
    std::string out(text, std::to_chars(text, text + sizeof text, d).ptr);
    if (out.find_first_of(".e") == std::string::npos) out += ".0";
    return out;
}

std::string payload_of(const std::vector<std::string>& numbers) {
    std::string out = R"({"n":[)";
    for (std::size_t i = 0; i < numbers.size(); ++i) out += (i ? "," : "") + numbers[i];
    return out + "]}";
}

// The task's payload as the server prints it in GET /tasks/{id}.
std::string stored_payload(HttpClient& admin, const std::string& id) {
    const auto r = admin.get("/tasks/" + id);
    BOOST_TEST_REQUIRE(r.status == 200u);
    const auto start = r.body.find(R"("payload":)");
    const auto end = r.body.find(R"(,"status":)");
    BOOST_TEST_REQUIRE((start != std::string::npos && end != std::string::npos && start < end), r.body);
    return r.body.substr(start + 10, end - start - 10);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(numbers)

BOOST_AUTO_TEST_CASE(hard_cases_come_back_as_their_shortest_exact_text) {
    ServerFixture f;
    // Sent -> printed back. The printed text reads back to the bits the sent text names.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"0.1", "0.1"},
        {"-6.360375184993316e+38", "-6.360375184993316e+38"},  // Boost.JSON alone: ...156e+38
        {"-2.5e-300", "-2.5e-300"},                            // Boost.JSON alone: ...0003e-300
        {"5e-324", "5e-324"},
        {"4.9406564584124654e-324", "5e-324"},
        {"2.225073858507201e-308", "2.225073858507201e-308"},
        {"2.2250738585072014e-308", "2.2250738585072014e-308"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
        {"1e23", "1e+23"},
        {"0.30000000000000004", "0.30000000000000004"},
        {"123456789.12345678", "123456789.12345678"},
        {"0.1000000000000000055511151231257827021181583404541015625", "0.1"},
        {"9007199254740993.0", "9007199254740992.0"},  // 2^53 + 1 is no double: ties to even
        {"1e-400", "0.0"},
        {"-1e-400", "-0.0"},
        {"-0.0", "-0.0"},
        {"1E2", "100.0"},
        {"9007199254740993", "9007199254740993"},
        {"-9223372036854775808", "-9223372036854775808"},
        {"18446744073709551615", "18446744073709551615"},
    };
    std::vector<std::string> sent, expected;
    for (const auto& [in, out] : cases) {
        sent.push_back(in);
        expected.push_back(out);
    }
    const auto task = f.create_task(new_uuid(), "noop", payload_of(sent));
    const std::string id(task.at("id").as_string());
    BOOST_TEST(stored_payload(f.admin, id) == payload_of(expected));

    BOOST_TEST_REQUIRE(f.server.stop() == 0);
    f.server.start(f.dir.path() / "data");
    HttpClient admin(f.server.port());
    admin.set_token(f.server.admin_token());
    BOOST_TEST(stored_payload(admin, id) == payload_of(expected));
}

BOOST_AUTO_TEST_CASE(integers_beyond_64_bits_are_refused_with_422) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    for (const std::string n : {"18446744073709551616", "-9223372036854775809", "123456789012345678901234567890"}) {
        const std::string body = R"({"tenant_id":")" + tenant + R"(","type":"noop","payload":{"n":)" + n + "}}";
        const auto r = f.admin.post("/tasks", body);
        BOOST_TEST_REQUIRE(r.status == 422u, n << ": " << r.status << " " << r.body);
        const json::value answer = r.json();
        const auto& detail = answer.at("detail").at(0);
        BOOST_TEST(detail.at("type") == "value_error.number.too_large", n);
        BOOST_TEST(detail.at("loc") == json::parse(R"(["body","payload","n"])"), n);
    }
    BOOST_TEST(f.admin.get("/tasks").json().as_array().empty());
    // In a result too.
    const auto agent = f.register_agent(tenant);
    f.create_task(tenant);
    HttpClient a = f.client_with_token(agent.token);
    const auto claimed = a.get("/tasks/next?agent_id=" + agent.id).json();
    const auto r = a.patch("/tasks/" + std::string(claimed.at("id").as_string()),
                           R"({"status":"completed","result":{"n":18446744073709551616}})");
    BOOST_TEST(r.status == 422u, r.body);
}

// A million random finite doubles (every bit pattern equally likely, so most exponents and
// subnormals appear), in 40 tasks of 25,000, each sent as the shortest text that reads back
// to it: each task's payload comes back as exactly the text sent.
BOOST_AUTO_TEST_CASE(a_million_random_doubles_round_trip_bit_exactly) {
    ServerFixture f;
    std::mt19937_64 random(0x7a5d);
    const std::string tenant = new_uuid();
    int mismatched_tasks = 0;
    for (int t = 0; t < 40; ++t) {
        std::vector<std::string> numbers;
        while (numbers.size() < 25'000) {
            const double d = std::bit_cast<double>(random());
            if (std::isfinite(d)) numbers.push_back(shortest(d));
        }
        const std::string payload = payload_of(numbers);
        const auto task = f.create_task(tenant, "noop", payload);
        const std::string back = stored_payload(f.admin, std::string(task.at("id").as_string()));
        if (back != payload) {
            ++mismatched_tasks;
            for (std::size_t i = 0, at = 6; i < numbers.size(); at += numbers[i].size() + 1, ++i)
                if (back.compare(at, numbers[i].size(), numbers[i]) != 0) {
                    BOOST_TEST_MESSAGE("task " << t << ": first difference at " << numbers[i]);
                    break;
                }
        }
    }
    BOOST_TEST(mismatched_tasks == 0);
}

BOOST_AUTO_TEST_SUITE_END()
