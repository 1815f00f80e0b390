// RawConnection: one client connection under a test's full control — raw bytes out, parsed
// responses in — for tests of the HTTP layer itself (limits, timeouts, pipelining, malformed
// requests). Every wait on it is bounded, so that a server that never answers fails the test
// instead of hanging it; the bound is not a pause: each wait ends at its event.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace taskd::test {

using RawReply = boost::beast::http::response<boost::beast::http::string_body>;

// Longest wait for any one answer or close from the server.
inline constexpr int kWaitBoundMs = 15'000;

class RawConnection {
public:
    // `receive_buffer_bytes` > 0 sets SO_RCVBUF: a reader that does not read then stalls the
    // server's writes early. `host` may be "::1".
    explicit RawConnection(unsigned short port, int receive_buffer_bytes = 0, const std::string& host = "127.0.0.1");

    void send(std::string_view bytes);
    bool try_send(std::string_view bytes);  // false if the server has closed or reset already

    // The next response on this connection (pipelined answers come out one by one); nullopt on
    // a close, a reset or when the wait bound passes.
    std::optional<RawReply> try_read();
    RawReply read();                // throws when there is no response
    unsigned read_status();         // 0 when there is no response

    // True when the server closes the connection (EOF or reset) within `bound_ms`; anything it
    // sends first is skipped.
    bool closed_by_server(int bound_ms = kWaitBoundMs);

    boost::asio::ip::tcp::socket& socket() { return socket_; }

private:
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
};

// True when `fd` becomes readable within `bound_ms`.
bool wait_readable(int fd, int bound_ms);

// "METHOD TARGET HTTP/1.1" with Host, an optional bearer token and a JSON body.
std::string raw_request(const std::string& method, const std::string& target, const std::string& token = {},
                        const std::string& body = {}, const std::string& extra_headers = {});

}  // namespace taskd::test
