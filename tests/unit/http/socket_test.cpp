// http/socket: async_read_next() skips its try after a read that emptied the socket. What must
// hold whatever order bytes, events and reads come in: every read ends, with the bytes in order,
// and none waits for bytes that are already there.
#include "http/socket.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace {

namespace net = boost::asio;
using boost::system::error_code;
using namespace std::literals;

// A server-side http::Socket and its client, connected over 127.0.0.1. The client writes
// synchronously; the io_context is run only by the test's own calls.
struct Pair {
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(ioc);
    net::ip::tcp::socket client{ioc};
    std::optional<taskd::http::Socket> server;

    Pair() {
        net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server.emplace(acceptor.accept());
    }
    void send(std::string_view bytes) { net::write(client, net::buffer(bytes)); }
};

// One async_read_next() into a buffer of `size` bytes, and what it ended with.
struct Read {
    std::array<char, 64> storage{};
    std::optional<error_code> ec;
    std::size_t bytes = 0;

    Read(Pair& pair, std::size_t size) {
        pair.server->async_read_next(net::buffer(storage.data(), size), [this](error_code e, std::size_t n) {
            ec = e;
            bytes = n;
        });
    }
    std::string text() const { return std::string(storage.data(), bytes); }
};

// Runs the io_context until `read` ends; false if it has not after 10 s (a read that hangs).
bool finish(Pair& pair, const Read& read) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!read.ec && std::chrono::steady_clock::now() < give_up) pair.ioc.run_one_for(100ms);
    return read.ec.has_value();
}

BOOST_AUTO_TEST_SUITE(http_socket)

BOOST_AUTO_TEST_CASE(a_read_after_a_short_one_ends_when_the_next_bytes_come) {
    Pair pair;
    pair.send("abc");
    Read first(pair, 16);
    BOOST_REQUIRE(finish(pair, first));
    BOOST_TEST(!*first.ec);
    BOOST_TEST(first.text() == "abc");

    // Nothing sent: the read waits (without trying, the point of the class) ...
    Read second(pair, 16);
    pair.ioc.poll();
    BOOST_TEST(!second.ec.has_value());
    // ... and ends with the next bytes.
    pair.send("de");
    BOOST_REQUIRE(finish(pair, second));
    BOOST_TEST(!*second.ec);
    BOOST_TEST(second.text() == "de");
}

BOOST_AUTO_TEST_CASE(bytes_sent_before_the_read_starts_are_read) {
    Pair pair;
    pair.send("abc");
    Read first(pair, 16);
    BOOST_REQUIRE(finish(pair, first));

    // Sent while no read is pending, their event not yet seen by the reactor.
    pair.send("fgh");
    Read second(pair, 16);
    BOOST_REQUIRE(finish(pair, second));
    BOOST_TEST(second.text() == "fgh");

    // Sent while no read is pending, and their event taken by a reactor pass that had no read
    // to run: the read must not wait for another event, which would never come.
    pair.send("ijk");
    pair.ioc.poll();
    Read third(pair, 16);
    BOOST_REQUIRE(finish(pair, third));
    BOOST_TEST(third.text() == "ijk");
}

BOOST_AUTO_TEST_CASE(a_read_that_fills_its_buffer_is_followed_by_one_that_reads_the_rest) {
    Pair pair;
    pair.send("0123456789abcdefghij");  // 20 bytes, read 8 at a time: no new event for the rest
    std::string got;
    for (std::size_t expected : {8, 8, 4}) {
        Read read(pair, 8);
        BOOST_REQUIRE(finish(pair, read));
        BOOST_TEST(!*read.ec);
        BOOST_TEST(read.bytes == expected);
        got += read.text();
    }
    BOOST_TEST(got == "0123456789abcdefghij");
}

BOOST_AUTO_TEST_CASE(the_client_closing_ends_a_pending_read_with_eof) {
    Pair pair;
    Read read(pair, 16);
    pair.ioc.poll();
    BOOST_TEST(!read.ec.has_value());
    pair.client.close();
    BOOST_REQUIRE(finish(pair, read));
    BOOST_TEST(*read.ec == net::error::eof);
    BOOST_TEST(read.bytes == 0u);
}

BOOST_AUTO_TEST_CASE(cancel_and_close_end_a_pending_read) {
    Pair pair;
    pair.send("abc");
    Read first(pair, 16);
    BOOST_REQUIRE(finish(pair, first));

    Read cancelled(pair, 16);
    pair.ioc.poll();
    pair.server->cancel();
    BOOST_REQUIRE(finish(pair, cancelled));
    BOOST_TEST(*cancelled.ec == net::error::operation_aborted);

    // The socket still reads after a cancelled read.
    Read after(pair, 16);
    pair.send("xyz");
    BOOST_REQUIRE(finish(pair, after));
    BOOST_TEST(after.text() == "xyz");

    Read closed(pair, 16);
    pair.ioc.poll();
    pair.server->close();
    BOOST_REQUIRE(finish(pair, closed));
    BOOST_TEST(*closed.ec == net::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(a_read_on_a_closed_socket_ends_with_an_error) {
    Pair pair;
    pair.server->close();
    Read read(pair, 16);
    BOOST_REQUIRE(finish(pair, read));
    BOOST_TEST(*read.ec == net::error::bad_descriptor);
}

BOOST_AUTO_TEST_CASE(an_io_context_destroyed_with_a_read_pending_frees_it_without_calling_it) {
    auto held = std::make_shared<int>(0);
    std::weak_ptr<int> watch = held;
    bool called = false;
    {
        std::array<char, 16> storage{};
        Pair pair;
        pair.server->async_read_next(net::buffer(storage),
                                     [&called, held = std::move(held)](error_code, std::size_t) { called = true; });
        pair.ioc.poll();
        // The Pair goes: the socket first (its read aborted, queued, never run), then the
        // io_context, which frees what is queued.
    }
    BOOST_TEST(!called);
    BOOST_TEST(watch.expired());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
