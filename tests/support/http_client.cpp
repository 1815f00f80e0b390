#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdexcept>

namespace taskd::test {
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using net::ip::tcp;

HttpResponse to_response(bhttp::response<bhttp::string_body>& msg) {
    HttpResponse r;
    r.status = msg.result_int();
    for (const auto& field : msg) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        r.headers[name] = std::string(field.value());
    }
    r.body = std::move(msg.body());
    r.keep_alive = msg.keep_alive();
    return r;
}

boost::json::value HttpResponse::json() const { return boost::json::parse(body); }

std::string HttpResponse::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
}

struct HttpClient::Impl {
    net::io_context ioc;
    tcp::endpoint endpoint;
    tcp::socket socket{ioc};
    boost::beast::flat_buffer buffer;
    std::string host;

    void connect() {
        socket = tcp::socket(ioc);
        socket.connect(endpoint);
        socket.set_option(tcp::no_delay(true));
        // Bounded reads: a server that never answers fails the test instead of hanging it.
        const timeval bound{30, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
        buffer.clear();
    }
};

HttpClient::HttpClient(unsigned short port, std::string host) : impl_(std::make_unique<Impl>()) {
    impl_->endpoint = tcp::endpoint(net::ip::make_address(host), port);
    impl_->host = host + ":" + std::to_string(port);
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, impl_->host);
    if (token_) req.set(bhttp::field::authorization, "Bearer " + *token_);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();

    // One retry: a keep-alive connection the server has closed since is reopened.
    for (int attempt = 0;; ++attempt) {
        if (!impl_->socket.is_open()) impl_->connect();
        boost::system::error_code ec;
        bhttp::write(impl_->socket, req, ec);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(1ull << 32);
        if (!ec) bhttp::read(impl_->socket, impl_->buffer, parser, ec);
        if (ec) {
            impl_->socket.close();
            if (attempt == 0) continue;
            throw std::runtime_error(method + " " + target + ": " + ec.message());
        }
        auto msg = parser.release();
        HttpResponse r = to_response(msg);
        if (!r.keep_alive) impl_->socket.close();
        return r;
    }
}

std::optional<HttpResponse> HttpClient::send_raw(const std::string& bytes) {
    impl_->connect();
    boost::system::error_code ec;
    net::write(impl_->socket, net::buffer(bytes), ec);
    // A write error (the server closed early) may still leave its answer to read.
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ull << 32);
    bhttp::read(impl_->socket, impl_->buffer, parser, ec);
    if (ec) {
        impl_->socket.close();
        return std::nullopt;
    }
    auto msg = parser.release();
    HttpResponse r = to_response(msg);
    if (!r.keep_alive) impl_->socket.close();
    return r;
}

bool HttpClient::wait_closed_by_server() {
    if (!impl_->socket.is_open()) impl_->connect();
    char c;
    boost::system::error_code ec;
    impl_->socket.read_some(net::buffer(&c, 1), ec);
    impl_->socket.close();
    return ec == net::error::eof || ec == net::error::connection_reset;
}

void HttpClient::close() {
    boost::system::error_code ignored;
    impl_->socket.close(ignored);
}

}  // namespace taskd::test
