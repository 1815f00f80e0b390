// TlsContext: the server's TLS certificate and key (--tls-cert, --tls-key), loaded from PEM
// files at start and again on SIGHUP.
//
// Each accepted connection takes the context current at its accept (current()) and keeps it
// until it closes, so a reload changes what new connections present and nothing else: an open
// connection keeps working on the context it started with (its shared_ptr keeps it alive). A
// reload that fails keeps the context loaded before.
//
// Settings: TLS 1.2 at least; for TLS 1.2, only ECDHE key exchange with AEAD ciphers (forward
// secrecy; Mozilla's "intermediate" list without DHE, which would need parameters of its own);
// TLS 1.3 with OpenSSL's defaults; no renegotiation, no compression.
//
// Thread-safe: current() and reload() may be called from any thread.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace taskd::http {

struct TlsFiles {
    std::string certificate;  // PEM: the server's certificate, then any intermediates
    std::string private_key;  // PEM
};

// A context loaded from `files`, or why it could not be (`error`, one line naming the file).
struct LoadedTlsContext {
    std::shared_ptr<boost::asio::ssl::context> context;
    std::string error;
    std::string certificate;  // for the log: subject, serial, expiry
};

LoadedTlsContext load_tls_context(const TlsFiles& files);

class TlsContext {
public:
    TlsContext(TlsFiles files, std::shared_ptr<boost::asio::ssl::context> first);

    std::shared_ptr<boost::asio::ssl::context> current() const;
    // Reads the files again; on success new connections get the new context. Reads two small
    // files on the calling thread.
    LoadedTlsContext reload();
    const TlsFiles& files() const { return files_; }

private:
    const TlsFiles files_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace taskd::http
