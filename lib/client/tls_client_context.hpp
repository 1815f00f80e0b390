// The TLS side of a client connection to taskd (taskd-agent's, taskd-bench's): the context
// (trust store, protocol versions) and the name the server's certificate must carry.
//
// One context serves every connection of a process; OpenSSL allows that from many threads.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace taskd::client {

struct TlsTarget {
    std::shared_ptr<boost::asio::ssl::context> context;
    // The server's host name or IP address as the URL gives it: sent as SNI (a name only) and
    // checked against the certificate when the context verifies.
    std::string host;
};

// A client context that accepts TLS 1.2 or later.
//   verify, ca_file empty: the server's certificate must chain to the system's trust store;
//   verify, ca_file set:   ... to the CA certificates (PEM) in ca_file, and only those;
//   !verify:               anything is accepted (taskd-bench, which measures, not trusts).
// Null and `error` (one line, naming the file) when ca_file cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(bool verify, const std::string& ca_file,
                                                                   std::string& error);

}  // namespace taskd::client
