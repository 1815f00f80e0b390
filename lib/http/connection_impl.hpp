// The definitions of BasicConnection's members, for the two files that instantiate it:
// connection.cpp (plain HTTP) and tls_connection.cpp (HTTPS). Each instantiation is compiled in
// a file of its own so that the compiler inlines the plain one's hot path as it did before
// there were two (with both in one file, GCC outlined more of it: +1 % instructions per GET
// under callgrind).
#pragma once

#include "http/connection.hpp"

#include "http/request_target.hpp"
#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <boost/asio/steady_timer.hpp>

#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <utility>

namespace taskd::http {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using namespace std::literals;

namespace {

constexpr auto kToken = net::as_tuple(net::use_awaitable);

// Bytes read per wait for the next request; pipelined requests may arrive together.
constexpr std::size_t kReadChunk = 16 * 1024;
// After an error answer the client may still be sending (a 2 MiB body, say). Closing with
// unread input makes the kernel send RST, which can destroy our answer before the client has
// read it, so we read and drop what follows for a while first (as nginx's lingering close).
constexpr std::size_t kMaxLingerBytes = 4 << 20;
constexpr auto kLingerTime = std::chrono::seconds{2};

// What a client that speaks plain HTTP to the HTTPS port gets (OpenSSL recognises the request),
// in plain HTTP: nginx does the same, and it beats a connection closed without a word.
constexpr std::string_view kPlainHttpToTlsPort =
    "HTTP/1.1 400 Bad Request\r\nServer: taskd\r\nContent-Type: application/json\r\nConnection: close\r\n"
    "Content-Length: 56\r\n\r\n{\"detail\":\"This port speaks HTTPS: plain HTTP was sent\"}";
static_assert(kPlainHttpToTlsPort.size() - kPlainHttpToTlsPort.find("\r\n\r\n") - 4 == 56);

// An answer known before any handler runs (404, 405), as the awaitable dispatch() returns.
net::awaitable<Response> answered(Response r) { co_return r; }

bool is_protocol_error(const error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// The status line and header of every answer: what Beast's serializer would write for a body
// of r.body.size() bytes (prepare_payload(), keep_alive()), or for a chunked one (chunked()).
void format_head(std::string& out, const Response& r, bool keep_alive, unsigned version, bool chunked,
                 std::string_view request_id) {
    out.clear();
    if (version >= 11 && r.status == 200 && r.content_type.empty()) {
        out += "HTTP/1.1 200 OK\r\nServer: taskd\r\nContent-Type: application/json\r\n"sv;  // most answers
    } else {
        out += version >= 11 ? "HTTP/1.1 "sv : "HTTP/1.0 "sv;
        out += std::to_string(r.status);
        out += ' ';
        out += bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
        out += "\r\nServer: taskd\r\n"sv;
        if (r.status != 204) {
            out += "Content-Type: "sv;
            out += r.content_type.empty() ? "application/json"sv : r.content_type;
            out += "\r\n"sv;
        }
    }
    for (const auto& [name, value] : r.headers) {
        // Values are ours (Allow, Link built with Boost.URL, Retry-After, WWW-Authenticate);
        // a line break in one would split the answer.
        assert(value.find_first_of("\r\n") == std::string::npos);
        out += name;
        out += ": "sv;
        out += value;
        out += "\r\n"sv;
    }
    out += "X-Request-Id: "sv;  // checked by is_valid_request_id(), or ours
    out += request_id;
    out += "\r\n"sv;
    // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told.
    if (version >= 11 && !keep_alive) out += "Connection: close\r\n"sv;
    if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n"sv;
    if (chunked) {
        out += "Transfer-Encoding: chunked\r\n"sv;
    } else if (r.status != 204) {
        char length[24];
        const auto end = std::to_chars(length, length + sizeof length, r.body.size()).ptr;
        out += "Content-Length: "sv;
        out.append(length, static_cast<std::size_t>(end - length));
        out += "\r\n\r\n"sv;
        return;
    }
    out += "\r\n"sv;
}

}  // namespace

template <class Stream>
BasicConnection<Stream>::BasicConnection(net::ip::tcp::socket socket, const Router& router, const Limits& limits,
                                         Observers observers)
    requires(!std::is_same_v<Stream, TlsStream>)
    : stream_(std::move(socket)),
      watchdog_(stream_.get_executor()),
      router_(router),
      limits_(limits),
      observers_(observers) {
    init();
}

template <class Stream>
BasicConnection<Stream>::BasicConnection(net::ip::tcp::socket socket, std::shared_ptr<net::ssl::context> tls,
                                         const Router& router, const Limits& limits, Observers observers)
    requires(std::is_same_v<Stream, TlsStream>)
    : tls_(std::move(tls)),
      stream_(std::move(socket), *tls_),
      watchdog_(stream_.get_executor()),
      router_(router),
      limits_(limits),
      observers_(observers) {
    init();
}

template <class Stream>
void BasicConnection<Stream>::init() {
    error_code ignored;
    socket().non_blocking(true, ignored);
    request_.client_closed = [this] { return until_client_closed(); };
}

template <class Stream>
void BasicConnection<Stream>::request_close() {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
        self->closing_ = true;
        // The connection may have closed its socket since: cancel() must not throw then.
        error_code ignored;
        if (!self->busy_) self->socket().cancel(ignored);
    });
}

template <class Stream>
void BasicConnection<Stream>::set_deadline(Clock::time_point deadline) {
    deadline_ = deadline;
    // A later deadline waits for the watchdog to fire at the earlier one and look again: a
    // keep-alive connection moving its idle deadline on with each request re-arms nothing.
    if (deadline < watchdog_at_) arm_watchdog(deadline);
}

template <class Stream>
void BasicConnection<Stream>::arm_watchdog(Clock::time_point at) {
    watchdog_at_ = at;
    watchdog_.expires_at(at);  // cancels the wait armed for a later time
    watchdog_.async_wait([self = this->shared_from_this()](error_code ec) {
        if (ec != net::error::operation_aborted) self->on_watchdog();
    });
}

template <class Stream>
void BasicConnection<Stream>::on_watchdog() {
    watchdog_at_ = Clock::time_point::max();
    if (!socket().is_open() || deadline_ == Clock::time_point::max()) return;  // the next deadline re-arms
    if (Clock::now() < deadline_) return arm_watchdog(deadline_);              // moved on since
    // The wait in progress ends with operation_aborted, and the connection with it.
    error_code ignored;
    socket().close(ignored);
}

// Asio tries the read at once and waits for readiness only if the socket has nothing. After an
// answer that try nearly always fails (the client has not sent its next request yet): a
// failed recv(), 5 % of a GET's CPU here (BENCHMARKS.md). Skipping it after a read that
// emptied the socket, as nginx does, was tried and removed: a client's end of file that came
// with its last request raises no further readiness event, so the connection of a client that
// half-closed after its request stayed open until the idle timeout (nginx learns of it from
// EPOLLRDHUP, which Asio does not ask for).
template <class Stream>
net::awaitable<error_code> BasicConnection<Stream>::read_some(Clock::time_point deadline) {
    set_deadline(deadline);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), kToken);
    if (!ec) buffer_.commit(n);
    // A client that closes without close_notify (most do, and nothing of a request can be
    // cut off unnoticed: HTTP frames its messages) ends the connection as a TCP end of file does.
    if constexpr (kTls)
        if (ec == net::ssl::error::stream_truncated) ec = net::error::eof;
    co_return ec;
}

template <class Stream>
bool BasicConnection<Stream>::send_now(Unsent& rest) {
    if constexpr (!kTls) {
        error_code ec;
        const std::size_t sent = stream_.send(rest, 0, ec);
        if (ec && ec != net::error::would_block) return false;
        rest.consume(sent);
    }
    return true;
}

template <class Stream>
net::awaitable<bool> BasicConnection<Stream>::send_rest(Unsent rest) {
    set_deadline(Clock::now() + limits_.write_timeout);  // a slow reader
    auto [ec, n] = co_await net::async_write(stream_, rest, kToken);
    co_return !ec;
}

template <class Stream>
net::awaitable<bool> BasicConnection<Stream>::handshake() {
    if constexpr (!kTls) co_return false;  // never called
    else {
        set_deadline(Clock::now() + limits_.header_timeout);
        auto [ec] = co_await stream_.async_handshake(net::ssl::stream_base::server, kToken);
        if (!ec) {
            tls_open_ = true;
            co_return true;
        }
        // Scanners, clients that distrust our certificate and slow clients fail here all day:
        // nothing an operator must act on.
        util::log_debug("TLS handshake failed: " + ec.message());
        if (ec.category() == net::error::get_ssl_category() && ERR_GET_REASON(ec.value()) == SSL_R_HTTP_REQUEST &&
            socket().is_open()) {
            set_deadline(Clock::now() + limits_.write_timeout);
            auto [wec, n] = co_await net::async_write(socket(), net::buffer(kPlainHttpToTlsPort), kToken);
            if (!wec) co_await linger();
        }
        co_return false;
    }
}

template <class Stream>
net::awaitable<void> BasicConnection<Stream>::run() {
    if constexpr (kTls) {
        if (!co_await handshake()) co_return co_await close_gracefully();
    }
    for (;;) {
        if (closing_) break;
        // Unless a pipelined request is already here. An error: closed by the client, the idle
        // timeout, or shutdown.
        if (buffer_.size() == 0 && co_await read_some(Clock::now() + limits_.idle_timeout)) break;
        busy_ = true;

        RequestParser parser(request_);
        route_ = {};
        route_index_ = Router::kNoRoute;
        const Clock::time_point started = Clock::now();
        parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
        parser.body_limit(limits_.max_body_bytes);

        // Nearly always the whole header came with the first read: parsed here, without a
        // coroutine frame for read_into().
        error_code ec = parse_buffered(parser, true);
        if (ec == bhttp::error::need_more) ec = co_await read_into(parser, true, Clock::now() + limits_.header_timeout);
        if (ec == bhttp::error::header_limit)
            co_return co_await reply_and_close(json_error(431, "Request header too large"), 11);
        // Beast refuses a declared Content-Length over the limit while reading the header.
        if (ec == bhttp::error::body_limit)
            co_return co_await reply_and_close(json_error(413, "Request body too large"), 11);
        if (is_protocol_error(ec)) co_return co_await reply_and_close(json_error(400, "Malformed HTTP request"), 11);
        if (ec) break;

        const unsigned version = parser.version();
        // A body framed by a transfer coding other than chunked has no length we can trust;
        // guessing one lets a body be read as a second request (RFC 9112 section 6.3).
        if (parser.has_transfer_encoding() && !parser.chunked())
            co_return co_await reply_and_close(json_error(400, "Unsupported Transfer-Encoding"), version);
        // HTTP/1.0 clients do not know 100 Continue and would take it for the answer.
        if (version >= 11 && parser.expects_continue()) {
            bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, version};
            set_deadline(Clock::now() + limits_.write_timeout);
            auto [wec, wn] = co_await bhttp::async_write(stream_, go_on, kToken);
            if (wec) break;
        }

        if (!parser.is_done()) {
            ec = parse_buffered(parser, false);
            if (ec == bhttp::error::need_more) ec = co_await read_into(parser, false, Clock::now() + limits_.body_timeout);
            if (ec == bhttp::error::body_limit)
                co_return co_await reply_and_close(json_error(413, "Request body too large"), version);
            if (is_protocol_error(ec))
                co_return co_await reply_and_close(json_error(400, "Malformed HTTP request"), version);
            if (ec) break;
        }

        const bool client_keeps_alive = parser.keep_alive();
        Request& request = request_;
        if (!decode_target(request))
            co_return co_await reply_and_close(json_error(400, "Invalid request target"), version);

        set_deadline(Clock::time_point::max());  // the handler's time is its own (a long poll)
        Response response;
        try {
            response = co_await dispatch(request);
        } catch (const std::exception& e) {
            // A handler that throws is a bug; the server goes on serving.
            util::log_error(std::string("unhandled exception in ") + std::string(to_string(request.method)) + " " +
                            request.target + ": " + e.what());
            response = json_error(500, "Internal Server Error");
        }
        const bool keep_alive = client_keeps_alive && !closing_;
        const bool written = co_await write(response, keep_alive, version);
        observe(response, started);
        if (!written || !keep_alive) break;
        busy_ = false;
    }
    co_await close_gracefully();
}

template <class Stream>
error_code BasicConnection<Stream>::parse_buffered(RequestParser& parser, bool header_only) {
    parser.eager(!header_only);
    const auto done = [&] { return header_only ? parser.is_header_done() : parser.is_done(); };
    while (buffer_.size() > 0 && !done()) {
        error_code ec;
        buffer_.consume(parser.put(buffer_.data(), ec));
        if (ec == bhttp::error::need_more) break;
        if (ec) return ec;
    }
    return done() ? error_code{} : error_code{bhttp::error::need_more};
}

template <class Stream>
net::awaitable<error_code> BasicConnection<Stream>::read_into(RequestParser& parser, bool header_only,
                                                              Clock::time_point deadline) {
    // What http::async_read_header / async_read do (their read_some_op), without a composed
    // operation around every read: feed the parser what buffer_ holds, read more when it
    // needs more. One deadline for the whole phase, so a client sending a byte at a time
    // cannot stretch it.
    for (;;) {
        if (error_code ec = parse_buffered(parser, header_only); ec != bhttp::error::need_more) co_return ec;
        const error_code ec = co_await read_some(deadline);
        if (ec == net::error::eof) {
            if (!parser.got_some()) co_return bhttp::error::end_of_stream;
            error_code eof;
            parser.put_eof(eof);  // partial_message unless the message was complete
            co_return eof;
        }
        if (ec) co_return ec;
    }
}

// Not a coroutine: the handler's own coroutine is awaited by run(), one frame fewer per request.
template <class Stream>
net::awaitable<Response> BasicConnection<Stream>::dispatch(Request& request) {
    Router::Match match = router_.match(request.method, request.path);
    if (match.status == 405) {
        Response r = json_error(405, "Method Not Allowed");
        r.headers.emplace_back("Allow", std::move(match.allow));
        return answered(std::move(r));
    }
    if (!match.handler) return answered(json_error(404, "Not Found"));
    route_ = match.route;
    route_index_ = match.route_index;
    request.path_params = std::move(match.params);
    return (*match.handler)(request);
}

template <class Stream>
net::awaitable<bool> BasicConnection<Stream>::write(Response& response, bool keep_alive, unsigned version) {
    // HTTP/1.0 has no chunked encoding: such a client gets the streamed body in one piece.
    if (response.stream && version < 11) {
        for (;;) {
            const Piece piece = co_await response.stream(response.body);
            if (piece == Piece::failed) co_return false;
            if (piece == Piece::last) break;
        }
        response.stream = nullptr;
    }

    // The answer of nearly every request: its head formatted here, head and body sent with one
    // gather write. Beast's serializer did the same through a field container and a buffer
    // sequence visitor per write, a tenth of the CPU of a GET (BENCHMARKS.md). A streamed
    // answer sends its head the same way, then its chunks.
    const bool chunked = static_cast<bool>(response.stream);
    if (!chunked && response.status == 204) response.body.clear();
    // The client's id if it is one we may echo and log, else ours.
    if (!is_valid_request_id(request_.request_id)) make_request_id(request_.request_id);
    format_head(head_, response, keep_alive, version, chunked, request_.request_id);
    body_bytes_ = chunked ? 0 : response.body.size();
    // An answer nearly always fits the socket's send buffer: sent here, it needs no deadline,
    // no round through the reactor and no coroutine frame for send_rest().
    Unsent rest(std::array<net::const_buffer, 2>{net::buffer(head_),
                                                 chunked ? net::const_buffer{} : net::buffer(response.body)});
    if (!send_now(rest)) co_return false;
    if (net::buffer_size(rest) > 0 && !co_await send_rest(rest)) co_return false;
    if (!chunked) co_return true;

    std::string piece;
    for (bool more = true; more;) {
        piece.clear();
        const Piece step = co_await response.stream(piece);
        if (step == Piece::failed) co_return false;
        more = step == Piece::more;
        if (piece.empty()) continue;
        body_bytes_ += piece.size();
        set_deadline(Clock::now() + limits_.write_timeout);
        if (auto [ec, n] = co_await net::async_write(stream_, bhttp::make_chunk(net::buffer(piece)), kToken); ec)
            co_return false;
    }
    set_deadline(Clock::now() + limits_.write_timeout);
    auto [ec, n] = co_await net::async_write(stream_, bhttp::make_chunk_last(), kToken);
    co_return !ec;
}

template <class Stream>
void BasicConnection<Stream>::observe(const Response& response, Clock::time_point started) {
    const auto duration = Clock::now() - started;
    observers_.metrics.record(route_index_, response.status, duration);
    if (observers_.access_log.enabled())
        observers_.access_log.record(
            {request_.method, route_, response.status, duration, body_bytes_, request_.who, request_.request_id});
}

template <class Stream>
net::awaitable<void> BasicConnection<Stream>::reply_and_close(Response response, unsigned version) {
    const Clock::time_point started = Clock::now();  // the time to send the refusal
    const bool written = co_await write(response, false, version);
    observe(response, started);
    if (written) {
        if constexpr (kTls) co_await send_close_notify();
        co_await linger();
    }
    co_await close_gracefully();
}

template <class Stream>
net::awaitable<void> BasicConnection<Stream>::linger() {
    // On the TCP socket, below TLS: after our last answer (and close_notify) nothing the
    // client sends is read as TLS any more.
    error_code ignored;
    socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    std::array<char, 8192> junk;
    std::size_t drained = 0;
    set_deadline(Clock::now() + kLingerTime);
    while (drained < kMaxLingerBytes) {
        auto [ec, n] = co_await socket().async_read_some(net::buffer(junk), kToken);
        if (ec) break;
        drained += n;
    }
}

template <class Stream>
net::awaitable<void> BasicConnection<Stream>::until_client_closed() {
    if constexpr (kTls) {
        // Bytes on the socket say nothing here: they may be the client's close_notify. Read
        // what comes through TLS instead; a pipelined request goes into buffer_, where run()
        // finds it after the handler.
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), kToken);
        if (ec) co_return;  // cancelled (the handler finished first), or the client closed
        buffer_.commit(n);
    } else {
        auto [ec] = co_await stream_.async_wait(net::ip::tcp::socket::wait_read, kToken);
        if (ec) co_return;  // cancelled (the handler finished first), or the socket failed
        char byte;
        const ssize_t n = ::recv(stream_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) co_return;  // closed
    }
    // Bytes are waiting (a pipelined request): the client is there, and nothing more can be
    // learnt before the handler ends; wait for the cancellation that its end brings.
    net::steady_timer never(stream_.get_executor(), net::steady_timer::time_point::max());
    co_await never.async_wait(kToken);
}

template <class Stream>
net::awaitable<void> BasicConnection<Stream>::send_close_notify() {
    if constexpr (kTls) {
        if (!tls_open_ || !socket().is_open()) co_return;
        tls_open_ = false;
        // Waiting for the client's close_notify would hold the connection on the client's good
        // will; HTTP has framed everything already, so ours is sent and the socket closed (as
        // nginx does). OpenSSL then takes the shutdown as complete once ours is out.
        ::SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
        set_deadline(Clock::now() + limits_.write_timeout);
        auto [ec] = co_await stream_.async_shutdown(kToken);
        (void)ec;  // the client may be gone: nothing left to do either way
    }
    co_return;
}

template <class Stream>
net::awaitable<void> BasicConnection<Stream>::close_gracefully() {
    if constexpr (kTls) co_await send_close_notify();
    error_code ignored;
    socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    socket().close(ignored);
    // The watchdog's wait holds this connection: let it go now, not at the last deadline.
    deadline_ = Clock::time_point::max();
    watchdog_.cancel();
    co_return;
}

}  // namespace taskd::http
