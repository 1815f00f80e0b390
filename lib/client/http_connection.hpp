// HttpConnection: one keep-alive HTTP/1.1 client connection (taskd-bench's and taskd-agent's).
//
// exchange() writes one request (serialised by the caller, once, into a reused string) and
// reads its response with Beast's parser. The connection is opened on first use and again after
// the server closed it (`Connection: close`, as nginx does after keepalive_requests) or after an
// error. A failed exchange is not retried, because a retried POST could create a task twice,
// with one exception: a reused connection that fails before any byte of the answer (the server
// had closed it while idle, and never read the request) is reopened and the request sent again.
// No pipelining: one request in flight per connection, as a real agent sends them.
//
// With a TlsTarget it speaks HTTPS: connect() does the TLS handshake too (verifying the server as
// the target's context says), and every later byte goes through TLS. Without one, the plain
// path is the socket's own reads and writes, as before.
//
// Lives on one io_context thread (not thread-safe). The Watchdog aborts an exchange that takes
// longer than the run's timeout; exchange() then reports `timed_out`.
#pragma once

#include "client/client_socket.hpp"
#include "client/tls_client_context.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskd::client {

struct HttpResponse {
    unsigned status = 0;
    std::string body;  // capacity kept from one response to the next
    bool keep_alive = true;
};

class HttpConnection final : public ClientSocket {
public:
    // `tls`: HTTPS to that target (it outlives the connection); null: plain HTTP.
    HttpConnection(boost::asio::any_io_executor executor, boost::asio::ip::tcp::endpoint endpoint,
                   const TlsTarget* tls = nullptr);

    // Opens the connection unless it is open, with the TLS handshake when there is TLS.
    boost::asio::awaitable<Transport> connect() override;
    boost::asio::awaitable<Transport> exchange(std::string_view request, HttpResponse& out);
    std::uint64_t stale_retries() const { return stale_retries_; }
    // What went wrong with the last failed exchange, for a log line: the socket's error, or
    // why the server's certificate was not trusted.
    std::string error_text() const;

private:
    boost::asio::awaitable<Transport> exchange_once(std::string_view request, HttpResponse& out, bool& answered);
    void on_close() override {
        buffer_.clear();
        tls_stream_.reset();
    }

    const TlsTarget* tls_;
    std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_stream_;  // while open
    std::string verify_error_;  // of the last failed handshake, if the certificate was the reason
    boost::beast::flat_buffer buffer_;
    std::uint64_t stale_retries_ = 0;
};

// Serialises a request into `out` (cleared first). `token` and `body` may be empty.
void format_request(std::string& out, std::string_view method, std::string_view target, std::string_view host,
                    std::string_view token, std::string_view body);

}  // namespace taskd::client
