// SIGTERM while connections are closing: the server still stops cleanly (exit status 0).
//
// Shutdown asks every open connection to close; a connection that has just closed its socket
// on its own must take that request as done, not fail on it. With several serving threads the
// request and the close race, so each round closes 32 keep-alive connections and signals the
// server at once, and every round's exit status must be 0.
#include "fixture.hpp"
#include "raw_connection.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <vector>

using namespace taskd::test;

BOOST_AUTO_TEST_SUITE(shutdown_race)

BOOST_AUTO_TEST_CASE(sigterm_as_keep_alive_connections_close_exits_cleanly) {
    constexpr int kRounds = 60;
    constexpr int kConnections = 32;
    for (int round = 0; round < kRounds; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
            ServerFixture f({"--threads", "2"});
            {
                std::vector<std::unique_ptr<RawConnection>> open;
                for (int i = 0; i < kConnections; ++i) {
                    open.push_back(std::make_unique<RawConnection>(f.server.port()));
                    open.back()->send(raw_request("GET", "/healthz"));
                    BOOST_TEST_REQUIRE(open.back()->read_status() == 200u);
                }
            }  // every connection closes here, and the signal follows at once
            BOOST_TEST_REQUIRE(f.server.stop() == 0, f.server.log());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
