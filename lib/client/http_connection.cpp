#include "client/http_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <charconv>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <tuple>
#include <utility>

namespace taskd::client {
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr auto kToken = net::as_tuple(net::use_awaitable);
// An unlimited GET /tasks of a large store can be big; the default (8 MB) would cut it.
constexpr std::uint64_t kMaxResponseBodyBytes = 256u << 20;
// Bytes asked for per read: a task is ~400 bytes, a page of 50 ~25 KiB.
constexpr std::size_t kReadChunk = 16 * 1024;

using sv = boost::beast::string_view;

// A response parser that keeps the status and the body and drops the header fields: Beast's
// response_parser stores every field in a node of its own (an allocation each), which made the
// parser the largest user-space cost of a request in the load generator. The body goes into a
// string the connection reuses, so a steady run allocates nothing per response.
class ResponseParser final : public bhttp::basic_parser<false> {
public:
    explicit ResponseParser(std::string& body) : body_(body) {}
    unsigned status() const { return status_; }

private:
    void on_request_impl(bhttp::verb, sv, sv, int, error_code&) override {}
    void on_response_impl(int code, sv, int, error_code&) override {
        status_ = static_cast<unsigned>(code);
    }
    void on_field_impl(bhttp::field, sv, sv, error_code&) override {}
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
        if (length) body_.reserve(static_cast<std::size_t>(*length));
    }
    std::size_t on_body_impl(sv data, error_code&) override {
        body_.append(data.data(), data.size());
        return data.size();
    }
    void on_chunk_header_impl(std::uint64_t, sv, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, sv data, error_code&) override {
        body_.append(data.data(), data.size());
        return data.size();
    }
    void on_finish_impl(error_code&) override {}

    std::string& body_;
    unsigned status_ = 0;
};

}  // namespace

void format_request(std::string& out, std::string_view method, std::string_view target, std::string_view host,
                    std::string_view token, std::string_view body) {
    out.clear();
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
    if (!token.empty()) out.append("Authorization: Bearer ").append(token).append("\r\n");
    if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
        char length[24];
        auto [end, ec] = std::to_chars(length, length + sizeof length, body.size());
        (void)ec;  // 24 characters hold any size_t
        out.append("Content-Type: application/json\r\nContent-Length: ").append(length, end).append("\r\n");
    }
    out.append("\r\n").append(body);
}

HttpConnection::HttpConnection(net::any_io_executor executor, net::ip::tcp::endpoint endpoint, const TlsTarget* tls)
    : ClientSocket(std::move(executor), endpoint), tls_(tls) {}

net::awaitable<Transport> HttpConnection::connect() {
    if (is_open()) co_return Transport::ok;
    if (auto t = co_await ClientSocket::connect(); t != Transport::ok || !tls_) co_return t;

    tls_stream_.emplace(socket_, *tls_->context);
    SSL* ssl = tls_stream_->native_handle();
    error_code not_ip;
    net::ip::make_address(tls_->host, not_ip);
    // The certificate must name the host the URL names: an IP address in its IP SANs, a name in
    // its DNS SANs (OpenSSL checks it during the handshake when the context verifies).
    if (!not_ip) {
        ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(ssl), tls_->host.c_str());
    } else {
        ::SSL_set_tlsext_host_name(ssl, tls_->host.c_str());
        ::SSL_set1_host(ssl, tls_->host.c_str());
    }
    clear_timed_out();
    begin();
    auto [ec] = co_await tls_stream_->async_handshake(net::ssl::stream_base::client, kToken);
    end();
    verify_error_.clear();
    if (ec) {
        if (const long v = ::SSL_get_verify_result(ssl); v != X509_V_OK)
            verify_error_ = std::string("the server's certificate is not trusted: ") +
                            ::X509_verify_cert_error_string(v);
        failed(ec);
        close();
        co_return timed_out() ? Transport::timed_out : Transport::io_error;
    }
    co_return Transport::ok;
}

std::string HttpConnection::error_text() const {
    return verify_error_.empty() ? last_error().message() : verify_error_;
}

net::awaitable<Transport> HttpConnection::exchange(std::string_view request, HttpResponse& out) {
    for (int attempt = 0;; ++attempt) {
        const bool reused = is_open();
        if (!reused) {
            if (auto t = co_await connect(); t != Transport::ok) co_return t;
        }
        bool answered = false;
        const Transport t = co_await exchange_once(request, out, answered);
        // A keep-alive connection the server closed while it was idle (uvicorn does after 5 s,
        // e.g. while other sessions are still being set up) fails before a byte of the answer
        // arrives. The server never saw the request: send it once more on a new connection,
        // as HTTP clients do. Anything else is the server's failure and is reported.
        if (t == Transport::io_error && reused && !answered && attempt == 0) {
            ++stale_retries_;
            continue;
        }
        co_return t;
    }
}

net::awaitable<Transport> HttpConnection::exchange_once(std::string_view request, HttpResponse& out,
                                                        bool& answered) {
    clear_timed_out();
    begin();
    auto fail = [&](const error_code& ec) {
        end();
        failed(ec);
        close();
        return timed_out() ? Transport::timed_out : Transport::io_error;
    };

    // Plain socket operations and the parser's put(), rather than net::async_write and
    // http::async_read: their composed operations cost a tenth of the load generator's time
    // per request, enough for it to fall behind wrk against nginx.
    for (std::size_t sent = 0; sent < request.size();) {
        error_code wec;
        std::size_t n = 0;
        if (tls_stream_)
            std::tie(wec, n) = co_await tls_stream_->async_write_some(net::buffer(request.substr(sent)), kToken);
        else
            std::tie(wec, n) = co_await socket_.async_write_some(net::buffer(request.substr(sent)), kToken);
        if (wec) co_return fail(wec);
        sent += n;
    }

    // The parser reads into the caller's string, which keeps its capacity between responses.
    out.body.clear();
    ResponseParser parser(out.body);
    parser.body_limit(kMaxResponseBodyBytes);
    parser.eager(true);  // the body in the same put() as the header, when it is there
    for (;;) {
        if (buffer_.size() > 0) {
            answered = true;
            error_code pec;
            buffer_.consume(parser.put(buffer_.data(), pec));
            if (pec && pec != bhttp::error::need_more) co_return fail(pec);
            if (parser.is_done()) break;
        }
        error_code rec;
        std::size_t n = 0;
        if (tls_stream_) {
            std::tie(rec, n) = co_await tls_stream_->async_read_some(buffer_.prepare(kReadChunk), kToken);
            // A server closing without close_notify: HTTP's own framing says whether the answer
            // was cut, as with a TCP end of file.
            if (rec == net::ssl::error::stream_truncated) rec = net::error::eof;
        } else {
            std::tie(rec, n) = co_await socket_.async_read_some(buffer_.prepare(kReadChunk), kToken);
        }
        if (rec == net::error::eof) {
            // Closed before any answer: a failure. After part of one: a response framed by
            // the end of the connection (no Content-Length) ends here; any other is cut short.
            if (!parser.got_some()) co_return fail(rec);
            error_code pec;
            parser.put_eof(pec);
            if (pec || !parser.is_done()) co_return fail(pec ? pec : rec);
            break;
        }
        if (rec) co_return fail(rec);
        buffer_.commit(n);
    }
    end();

    out.status = parser.status();
    out.keep_alive = parser.keep_alive();
    if (!out.keep_alive) close();
    co_return Transport::ok;
}

}  // namespace taskd::client
