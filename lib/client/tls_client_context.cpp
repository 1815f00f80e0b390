#include "client/tls_client_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace taskd::client {
namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_client_tls_context(bool verify, const std::string& ca_file, std::string& error) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    ::SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    if (!verify) {
        ctx->set_verify_mode(ssl::verify_none);
        return ctx;
    }
    ctx->set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (ca_file.empty()) {
        ctx->set_default_verify_paths(ec);
        if (ec) {
            error = "cannot load the system's trusted certificates: " + ec.message();
            ::ERR_clear_error();
            return nullptr;
        }
        return ctx;
    }
    // OpenSSL's reason for a missing file is vague ("system lib"); say what the kernel said.
    if (std::FILE* f = std::fopen(ca_file.c_str(), "rb")) {
        std::fclose(f);
    } else {
        error = "--tls-ca " + ca_file + ": " + std::strerror(errno);
        return nullptr;
    }
    ctx->load_verify_file(ca_file, ec);
    if (ec) {
        error = "--tls-ca " + ca_file + ": no PEM certificate in it (" + ec.message() + ")";
        ::ERR_clear_error();
        return nullptr;
    }
    return ctx;
}

}  // namespace taskd::client
