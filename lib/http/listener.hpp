// Listener: accepts connections and keeps count of them, for the limit and for shutdown.
//
// Each accepted socket gets its own strand and a Connection coroutine (a TlsConnection, with
// the certificate current at the accept, when the listener serves HTTPS). With one serving thread
// there is nothing for a strand to order, and it is left out: dispatching through one cost 6 %
// of the CPU of a GET (perf, BENCHMARKS.md). Past --max-connections a
// new connection is answered 503 and closed at once, so that a flood cannot exhaust descriptors
// needed by the clients already served; past --max-connections-per-ip from its address, 429, so
// that one client cannot take every connection from the others (ConnectionQuota). Over HTTPS a
// refused connection is closed without an answer: a handshake is the work a flood must not buy.
//
// shutdown(): stop accepting, ask every connection to close after the request it is serving,
// and call `on_drained` once the last one has gone. Thread-safe.
#pragma once

#include "http/connection.hpp"
#include "http/connection_quota.hpp"
#include "http/limits.hpp"
#include "http/router.hpp"
#include "http/tls_context.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/result.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

namespace taskd::http {

class Listener {
public:
    // `threads`: how many threads run `ioc` (strands only when more than one). `tls`: HTTPS
    // with its current certificate; null for plain HTTP. It outlives the listener.
    Listener(boost::asio::io_context& ioc, unsigned threads, const Router& router, const Limits& limits,
             Observers observers, const TlsContext* tls = nullptr);

    // Binds and listens; returns the bound endpoint (with the real port when asked for port 0).
    boost::system::result<boost::asio::ip::tcp::endpoint> listen(const boost::asio::ip::tcp::endpoint& at);
    void start();
    void shutdown(std::function<void()> on_drained);
    std::size_t connection_count() const;

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(std::shared_ptr<AnyConnection> connection, boost::asio::ip::address client);
    // Sends `answer` (a whole HTTP response) and closes.
    boost::asio::awaitable<void> refuse(boost::asio::ip::tcp::socket socket, const std::string& answer);

    boost::asio::any_io_executor new_executor();

    boost::asio::io_context& ioc_;
    const bool strands_;
    const Router& router_;
    const Limits& limits_;
    Observers observers_;
    const TlsContext* tls_;
    boost::asio::ip::tcp::acceptor acceptor_;

    mutable std::mutex mutex_;
    std::unordered_set<std::shared_ptr<AnyConnection>> connections_;
    ConnectionQuota quota_;
    std::size_t peak_connections_ = 0;  // since the last trim (serve())
    bool stopping_ = false;
    std::function<void()> on_drained_;
};

}  // namespace taskd::http
