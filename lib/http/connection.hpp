// Connection: one client's TCP connection, served by one coroutine on its executor (a strand of
// its own when the server runs more than one thread: see Listener).
//
// Plain HTTP (Connection, over a tcp::socket) or HTTPS (TlsConnection, over an ssl::stream):
// one template, so that both serve requests with the same code, and the TLS steps (handshake,
// close_notify, no write without waiting) are `if constexpr` blocks the plain one never runs.
// The TLS handshake must end within the header timeout: a client that opens a connection and
// sends nothing is closed as a slow client is.
//
// The loop: wait for a request (idle timeout), read its header (header timeout, header limit),
// then its body (body timeout, body limit), route it, run the handler, write the answer (write
// timeout), and go round again while keep-alive holds. Pipelined requests wait in the read
// buffer and are answered in order, one at a time.
//
// Protocol errors are answered and the connection closed: 400 for a malformed request, 413 for
// a body over the limit, 431 for a header over the limit. A handler that throws is a bug: it is
// logged and answered 500.
//
// Deadlines: one timer per connection, re-armed only when a deadline comes earlier than the one
// it is armed for (see set_deadline()). A deadline is set only for a wait that can block: an
// answer that the socket takes at once, or a header already in the buffer, sets none. Beast's
// tcp_stream armed and cancelled a timer around every read and write, a twentieth of a GET's
// CPU (BENCHMARKS.md).
//
// Every answer carries X-Request-Id (the client's if valid, else a new one), makes one line of
// the access log and is counted in the request metrics.
//
// Thread-safety: request_close() may be called from any thread; everything else runs on the
// connection's executor.
#pragma once

#include "http/access_log.hpp"
#include "http/limits.hpp"
#include "http/message.hpp"
#include "http/request_metrics.hpp"
#include "http/request_parser.hpp"
#include "http/router.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

namespace taskd::http {

// What a connection reports each answered request to. Both outlive every connection.
struct Observers {
    AccessLog& access_log;
    RequestMetrics& metrics;
};

// What the listener holds of a connection, whatever it runs over.
class AnyConnection {
public:
    virtual ~AnyConnection() = default;
    virtual boost::asio::awaitable<void> run() = 0;
    // Finish the request in flight, if any, then close; an idle connection closes at once.
    virtual void request_close() = 0;
    virtual boost::asio::any_io_executor executor() = 0;
};

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

// `Stream`: boost::asio::ip::tcp::socket or TlsStream (instantiated for these two only).
template <class Stream>
class BasicConnection final : public AnyConnection, public std::enable_shared_from_this<BasicConnection<Stream>> {
public:
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

    // Plain HTTP.
    BasicConnection(boost::asio::ip::tcp::socket socket, const Router& router, const Limits& limits,
                    Observers observers)
        requires(!std::is_same_v<Stream, TlsStream>);
    // HTTPS with `tls` (the certificate current at the accept, kept while the connection lasts).
    BasicConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> tls,
                    const Router& router, const Limits& limits, Observers observers)
        requires(std::is_same_v<Stream, TlsStream>);

    boost::asio::awaitable<void> run() override;
    void request_close() override;
    boost::asio::any_io_executor executor() override { return stream_.get_executor(); }

private:
    using Clock = std::chrono::steady_clock;

    // The TCP socket under the stream: closed by the watchdog, cancelled by request_close().
    boost::asio::ip::tcp::socket& socket() {
        if constexpr (kTls) return stream_.next_layer();
        else return stream_;
    }
    void init();

    // The pending wait must end by `deadline`, or the watchdog closes the socket;
    // Clock::time_point::max() for none (while a handler runs: a long poll waits on purpose).
    void set_deadline(Clock::time_point deadline);
    void arm_watchdog(Clock::time_point at);
    void on_watchdog();
    // Reads what the socket has into buffer_, waiting until `deadline` if it has nothing.
    boost::asio::awaitable<boost::system::error_code> read_some(Clock::time_point deadline);
    // What an answer still has to send.
    using Unsent = boost::beast::buffers_suffix<std::array<boost::asio::const_buffer, 2>>;
    // Sends what the socket takes now, without waiting; false if the connection failed. Over
    // TLS it sends nothing (Asio's TLS stream cannot write without waiting).
    bool send_now(Unsent& rest);
    // Writes what send_now() left, waiting for the reader until the write deadline.
    boost::asio::awaitable<bool> send_rest(Unsent rest);

    // Feeds `parser` what buffer_ holds: no error when it has the header (header_only) or the
    // whole request, need_more when it needs more bytes, else Beast's parse error.
    boost::system::error_code parse_buffered(RequestParser& parser, bool header_only);
    // Reads into `parser` until it holds the request's header, or (header_only false) all of
    // it, by `deadline`. Beast's parse errors (header_limit, body_limit, ...), the socket's
    // (reset; operation_aborted when the deadline passed), end_of_stream when the client closed
    // before a byte, partial_message after some.
    boost::asio::awaitable<boost::system::error_code> read_into(RequestParser& parser, bool header_only,
                                                                Clock::time_point deadline);
    // The answer the route's handler will give (404 or 405 when none serves the request).
    boost::asio::awaitable<Response> dispatch(Request& request);
    boost::asio::awaitable<bool> write(Response& response, bool keep_alive, unsigned version);
    // The access log's line and the metrics of the request just answered (or refused).
    void observe(const Response& response, Clock::time_point started);
    boost::asio::awaitable<void> reply_and_close(Response response, unsigned version);
    // Reads and drops what the client still sends, for a while, after our last answer.
    boost::asio::awaitable<void> linger();
    boost::asio::awaitable<void> close_gracefully();
    boost::asio::awaitable<void> until_client_closed();
    // TLS only: the handshake, under the header timeout; false if it failed.
    boost::asio::awaitable<bool> handshake();
    // TLS only: sends close_notify once, without waiting for the client's.
    boost::asio::awaitable<void> send_close_notify();

    std::shared_ptr<boost::asio::ssl::context> tls_;  // TLS only; before stream_, which uses it
    Stream stream_;  // its socket non-blocking: send_now() must not wait
    boost::asio::steady_timer watchdog_;
    Clock::time_point deadline_ = Clock::time_point::max();
    Clock::time_point watchdog_at_ = Clock::time_point::max();  // what watchdog_ is armed for
    boost::beast::flat_buffer buffer_;
    Request request_;   // the request being served, reused (RequestParser, decode_target())
    std::string head_;  // the answer's status line and header, reused from one answer to the next
    const Router& router_;
    const Limits& limits_;
    Observers observers_;
    std::string_view route_;     // the pattern of the route serving the current request, if any
    std::size_t route_index_ = Router::kNoRoute;
    std::size_t body_bytes_ = 0;  // of the current answer, streamed or not
    bool busy_ = false;     // between the first byte of a request and the end of its answer
    bool closing_ = false;  // set by request_close()
    bool tls_open_ = false;  // TLS only: handshake done, close_notify not sent
};

using Connection = BasicConnection<boost::asio::ip::tcp::socket>;
using TlsConnection = BasicConnection<TlsStream>;

}  // namespace taskd::http
