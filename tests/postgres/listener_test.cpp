// pg::Listener: LISTEN/NOTIFY from another session reaches the callback.
#include "pg/connection.hpp"
#include "pg/listener.hpp"
#include "pg_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <array>

namespace asio = boost::asio;
using namespace taskd;
using taskd::test::Events;
using taskd::test::IoThreads;
using taskd::test::fresh_database;

BOOST_AUTO_TEST_SUITE(listener)

BOOST_AUTO_TEST_CASE(a_notify_from_another_session_reaches_the_callback_in_order) {
    Events<std::string> payloads;
    Events<bool> listening;
    IoThreads io;
    const std::string url = fresh_database();
    // A channel name that needs quoting: LISTEN takes an identifier, not a parameter.
    const std::string channel = "task created";
    auto listener = pg::Listener::start(
        io.executor(), url, channel, [&](std::string_view p) { payloads.push(std::string(p)); },
        [&](bool after_loss) { listening.push(after_loss); });
    auto first = listening.next();
    BOOST_REQUIRE(first.has_value());
    BOOST_TEST(!*first);
    BOOST_TEST(listener->listening());

    io.run([](std::string u, std::string ch) -> asio::awaitable<void> {
        auto c = co_await pg::Connection::open(co_await asio::this_coro::executor, u);
        if (!c) throw std::runtime_error(c.error().message);
        for (const char* payload : {"one", "two ✓", "three"}) {
            const std::array<pg::Param, 2> p{ch, payload};
            auto r = co_await (*c)->query("SELECT pg_notify($1, $2)", p);
            if (!r) throw std::runtime_error(r.error().message);
        }
        // Another channel: not ours, never delivered.
        (void)co_await (*c)->query("NOTIFY other, 'not for us'");
    }(url, channel));

    for (const char* expected : {"one", "two ✓", "three"}) {
        auto got = payloads.next();
        BOOST_REQUIRE(got.has_value());
        BOOST_TEST(*got == expected);
    }
    listener->stop();
}

BOOST_AUTO_TEST_SUITE_END()
