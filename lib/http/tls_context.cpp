#include "http/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace taskd::http {
namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 suites (2023) without DHE: forward secret and authenticated
// encryption only. TLS 1.3 suites are set apart by OpenSSL and its defaults are all good.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's reasons for a missing file are vague ("system lib"); say what the kernel said.
std::string unreadable(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return std::strerror(errno);
    std::fclose(f);
    return {};
}

std::string openssl_reason(const boost::system::error_code& ec) {
    std::string text = ec.message();
    ::ERR_clear_error();  // what is left queued would be blamed on the next connection
    return text;
}

// "subject CN=taskd.internal, serial 1A2B, expires Dec  6 02:00:00 2027 GMT"
std::string describe(SSL_CTX* ctx) {
    X509* cert = ::SSL_CTX_get0_certificate(ctx);
    if (!cert) return "no certificate";
    std::string out = "subject ";
    char name[256];
    ::X509_NAME_oneline(::X509_get_subject_name(cert), name, sizeof name);
    out += name;
    if (BIGNUM* serial = ::ASN1_INTEGER_to_BN(::X509_get0_serialNumber(cert), nullptr)) {
        if (char* hex = ::BN_bn2hex(serial)) {
            out += ", serial ";
            out += hex;
            ::OPENSSL_free(hex);
        }
        ::BN_free(serial);
    }
    if (BIO* bio = ::BIO_new(::BIO_s_mem())) {
        if (::ASN1_TIME_print(bio, ::X509_get0_notAfter(cert)) == 1) {
            char* data = nullptr;
            const long n = ::BIO_get_mem_data(bio, &data);
            out += ", expires ";
            out.append(data, static_cast<std::size_t>(n));
        }
        ::BIO_free(bio);
    }
    return out;
}

}  // namespace

LoadedTlsContext load_tls_context(const TlsFiles& files) {
    LoadedTlsContext out;
    for (const auto& [flag, path] : {std::pair{"--tls-cert", &files.certificate}, {"--tls-key", &files.private_key}}) {
        if (std::string why = unreadable(*path); !why.empty()) {
            out.error = std::string(flag) + " " + *path + ": " + why;
            return out;
        }
    }
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::single_dh_use);
    SSL_CTX* native = ctx->native_handle();
    ::SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    // A client asking to renegotiate makes the server do a handshake's work again and again.
    ::SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    if (::SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
        out.error = "TLS: the built-in cipher list was refused by OpenSSL";
        ::ERR_clear_error();
        return out;
    }
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(files.certificate, ec);
    if (ec) {
        out.error = "--tls-cert " + files.certificate + ": not a PEM certificate (" + openssl_reason(ec) + ")";
        return out;
    }
    ctx->use_private_key_file(files.private_key, ssl::context::pem, ec);
    if (ec) {
        out.error = "--tls-key " + files.private_key + ": not a PEM private key, or not the certificate's (" +
                    openssl_reason(ec) + ")";
        return out;
    }
    if (::SSL_CTX_check_private_key(native) != 1) {
        out.error = "--tls-key " + files.private_key + ": does not match the certificate in " + files.certificate;
        ::ERR_clear_error();
        return out;
    }
    out.certificate = describe(native);
    out.context = std::move(ctx);
    return out;
}

TlsContext::TlsContext(TlsFiles files, std::shared_ptr<ssl::context> first)
    : files_(std::move(files)), current_(std::move(first)) {}

std::shared_ptr<ssl::context> TlsContext::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

LoadedTlsContext TlsContext::reload() {
    LoadedTlsContext loaded = load_tls_context(files_);
    if (loaded.context) {
        std::lock_guard lock(mutex_);
        current_ = loaded.context;
    }
    return loaded;
}

}  // namespace taskd::http
