#include "tls_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace taskd::test {
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using net::ip::tcp;

namespace {
// Longest wait for any one step (handshake, request, answer): a server that never answers
// fails the test instead of hanging it. SO_RCVTIMEO would not do: Asio's blocking reads poll
// again after it.
constexpr auto kStepBound = std::chrono::seconds{30};
}  // namespace

struct TlsClient::Impl {
    net::io_context ioc;
    net::ssl::context ctx{net::ssl::context::tls_client};
    net::ssl::stream<tcp::socket> stream{ioc, ctx};
    boost::beast::flat_buffer buffer;
    std::string host;

    // Runs one asynchronous step, `start(handler)`, to its end or kStepBound; throws on failure.
    template <class Start>
    void step(const char* what, Start start) {
        boost::system::error_code ec;
        bool done = false;
        start([&](boost::system::error_code e, auto&&...) {
            ec = e;
            done = true;
        });
        ioc.restart();
        ioc.run_for(kStepBound);
        if (!done) {
            boost::system::error_code ignored;
            stream.next_layer().close(ignored);
            ioc.restart();
            ioc.run();
            throw std::runtime_error(std::string("TlsClient: ") + what + ": no answer within the bound");
        }
        if (ec) throw std::runtime_error(std::string("TlsClient: ") + what + " failed: " + ec.message());
    }

    X509* peer() {
        X509* cert = ::SSL_get0_peer_certificate(stream.native_handle());
        if (!cert) throw std::runtime_error("TlsClient: no peer certificate");
        return cert;
    }
};

TlsClient::TlsClient(unsigned short port, const std::filesystem::path& ca_file) : impl_(std::make_unique<Impl>()) {
    impl_->ctx.load_verify_file(ca_file.string());
    impl_->ctx.set_verify_mode(net::ssl::verify_peer);
    impl_->host = "localhost:" + std::to_string(port);
    impl_->stream.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    SSL* ssl = impl_->stream.native_handle();
    ::SSL_set_tlsext_host_name(ssl, "localhost");
    ::SSL_set1_host(ssl, "localhost");
    impl_->step("TLS handshake", [&](auto handler) {
        impl_->stream.async_handshake(net::ssl::stream_base::client, std::move(handler));
    });
}

TlsClient::~TlsClient() = default;
TlsClient::TlsClient(TlsClient&&) noexcept = default;
TlsClient& TlsClient::operator=(TlsClient&&) noexcept = default;

namespace {

bhttp::request<bhttp::string_body> make_request(const std::string& method, const std::string& target,
                                                const std::string& host, const std::string& token,
                                                const std::string& body) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, host);
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return req;
}

}  // namespace

void TlsClient::send(const std::string& method, const std::string& target) {
    auto req = make_request(method, target, impl_->host, token_, {});
    impl_->step("write", [&](auto handler) { bhttp::async_write(impl_->stream, req, std::move(handler)); });
}

void TlsClient::hang_up(bool close_notify) {
    boost::system::error_code ignored;
    if (close_notify) {
        // Send ours without waiting for the server's (which would come after its answer).
        ::SSL_set_shutdown(impl_->stream.native_handle(), SSL_RECEIVED_SHUTDOWN);
        impl_->step("shutdown", [&](auto handler) { impl_->stream.async_shutdown(std::move(handler)); });
    }
    impl_->stream.next_layer().close(ignored);
}

HttpResponse TlsClient::request(const std::string& method, const std::string& target, const std::string& body) {
    auto req = make_request(method, target, impl_->host, token_, body);
    impl_->step("write", [&](auto handler) { bhttp::async_write(impl_->stream, req, std::move(handler)); });
    bhttp::response<bhttp::string_body> msg;
    impl_->step("read", [&](auto handler) { bhttp::async_read(impl_->stream, impl_->buffer, msg, std::move(handler)); });
    return to_response(msg);
}

std::string TlsClient::peer_common_name() const {
    char name[256] = {};
    ::X509_NAME_get_text_by_NID(::X509_get_subject_name(impl_->peer()), NID_commonName, name, sizeof name);
    return name;
}

std::uint64_t TlsClient::peer_serial() const {
    std::uint64_t serial = 0;
    if (::ASN1_INTEGER_get_uint64(&serial, ::X509_get0_serialNumber(impl_->peer())) != 1)
        throw std::runtime_error("TlsClient: serial does not fit 64 bits");
    return serial;
}

}  // namespace taskd::test
