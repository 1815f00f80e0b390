// TlsClient: a blocking HTTPS/1.1 client over one keep-alive connection, for tests. It verifies
// the server's certificate against a CA file and the name "localhost", as a careful client does,
// and shows which certificate the server presented. Every step is bounded (30 s): a server that
// never answers fails the test with an exception instead of hanging it.
#pragma once

#include "http_client.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace taskd::test {

class TlsClient {
public:
    // Connects to 127.0.0.1:port and completes the handshake; throws (with OpenSSL's reason)
    // when it fails, e.g. because the certificate does not chain to `ca_file`.
    TlsClient(unsigned short port, const std::filesystem::path& ca_file);
    ~TlsClient();
    TlsClient(TlsClient&&) noexcept;
    TlsClient& operator=(TlsClient&&) noexcept;

    void set_token(std::string token) { token_ = std::move(token); }
    // Throws when the connection fails (no reconnect: tests care which connection answers).
    HttpResponse request(const std::string& method, const std::string& target, const std::string& body = {});
    HttpResponse get(const std::string& target) { return request("GET", target); }
    // Sends a request without reading its answer (a long poll to hang up on).
    void send(const std::string& method, const std::string& target);
    // Closes the connection, after sending close_notify when `close_notify` (as a polite client
    // does), else with the TCP socket alone (as a killed one does).
    void hang_up(bool close_notify);

    // The certificate the server presented on this connection.
    std::string peer_common_name() const;
    std::uint64_t peer_serial() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string token_;
};

}  // namespace taskd::test
