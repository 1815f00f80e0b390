// http/connection with routes of its own, in-process over a real socket: what only a handler
// written for the test can make happen (a handler that throws).
#include "http/listener.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <future>
#include <stdexcept>
#include <thread>

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using namespace taskd;

// A Listener on 127.0.0.1 with `router`, served by one thread until the fixture ends.
struct Served {
    explicit Served(const http::Router& router)
        : metrics(router.routes()), listener(ioc, 1, router, limits, {access_log, metrics}) {
        port = listener.listen({net::ip::make_address("127.0.0.1"), 0}).value().port();
        listener.start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~Served() {
        std::promise<void> drained;
        listener.shutdown([&] { drained.set_value(); });
        drained.get_future().wait();
        ioc.stop();
        thread.join();
    }
    http::Limits limits;
    http::AccessLog access_log{false};
    http::RequestMetrics metrics;
    net::io_context ioc;
    http::Listener listener;
    unsigned short port = 0;
    std::thread thread;
};

bhttp::response<bhttp::string_body> get(net::ip::tcp::socket& socket, const std::string& target) {
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(socket, request);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(socket, buffer, response);
    return response;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connection)

BOOST_AUTO_TEST_CASE(a_handler_that_throws_is_answered_500_and_the_connection_goes_on) {
    http::Router router;
    router.add(http::Method::get, "/boom", [](http::Request&) -> net::awaitable<http::Response> {
        throw std::runtime_error("a bug");
        co_return http::Response{};
    });
    router.add(http::Method::get, "/ok", [](http::Request&) -> net::awaitable<http::Response> {
        http::Response r;
        r.body = R"({"ok":true})";
        co_return r;
    });
    Served served(router);

    net::io_context client;
    net::ip::tcp::socket socket(client);
    socket.connect({net::ip::make_address("127.0.0.1"), served.port});
    // A server that never answers fails the test (the read times out) instead of hanging it.
    const timeval bound{10, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    const auto boom = get(socket, "/boom");
    BOOST_TEST(boom.result_int() == 500u);
    BOOST_TEST(boom.body() == R"({"detail":"Internal Server Error"})");
    BOOST_TEST(boom.keep_alive());
    // The same connection, the next request.
    const auto ok = get(socket, "/ok");
    BOOST_TEST(ok.result_int() == 200u);
    BOOST_TEST(ok.body() == R"({"ok":true})");
    // No route: 404 before any handler; another method: 405 with Allow.
    BOOST_TEST(get(socket, "/nope").result_int() == 404u);
    bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/ok", 11};
    post.set(bhttp::field::host, "127.0.0.1");
    post.prepare_payload();
    bhttp::write(socket, post);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> refused;
    bhttp::read(socket, buffer, refused);
    BOOST_TEST(refused.result_int() == 405u);
    BOOST_TEST(refused[bhttp::field::allow] == "GET");
}

BOOST_AUTO_TEST_SUITE_END()
