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
// Lives on one io_context thread (not thread-safe). The Watchdog aborts an exchange that takes
// longer than the run's timeout; exchange() then reports `timed_out`.
#pragma once

#include "client/client_socket.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
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
    using ClientSocket::ClientSocket;

    boost::asio::awaitable<Transport> exchange(std::string_view request, HttpResponse& out);
    std::uint64_t stale_retries() const { return stale_retries_; }

private:
    boost::asio::awaitable<Transport> exchange_once(std::string_view request, HttpResponse& out, bool& answered);
    void on_close() override { buffer_.clear(); }

    boost::beast::flat_buffer buffer_;
    std::uint64_t stale_retries_ = 0;
};

// Serialises a request into `out` (cleared first). `token` and `body` may be empty.
void format_request(std::string& out, std::string_view method, std::string_view target, std::string_view host,
                    std::string_view token, std::string_view body);

}  // namespace taskd::client
