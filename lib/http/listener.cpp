#include "http/listener.hpp"

#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/write.hpp>

#include <malloc.h>

namespace taskd::http {
namespace net = boost::asio;
using net::ip::tcp;

namespace {
constexpr auto kToken = net::as_tuple(net::use_awaitable);

// A drop of this many open connections, to half the peak or less, returns freed memory (serve()).
constexpr std::size_t kTrimAfterSurge = 256;

// When accept fails for want of descriptors, retrying at once would spin; wait a little.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds{50};

// The answer to a connection refused at accept: sent whole, then the connection is closed.
std::string refusal(unsigned status, std::string_view reason, std::string_view detail) {
    const std::string body = R"({"detail":")" + std::string(detail) + R"("})";
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
           "\r\nServer: taskd\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kServerFull = refusal(503, "Service Unavailable", "Too many connections");
const std::string kAddressFull = refusal(429, "Too Many Requests", "Too many connections from this address");
}  // namespace

Listener::Listener(net::io_context& ioc, unsigned threads, const Router& router, const Limits& limits,
                   Observers observers, const TlsContext* tls)
    : ioc_(ioc),
      strands_(threads > 1),
      router_(router),
      limits_(limits),
      observers_(observers),
      tls_(tls),
      acceptor_(new_executor()),
      quota_(limits.max_connections, limits.max_connections_per_ip) {}

net::any_io_executor Listener::new_executor() {
    if (strands_) return net::make_strand(ioc_);
    return ioc_.get_executor();
}

boost::system::result<tcp::endpoint> Listener::listen(const tcp::endpoint& at) {
    boost::system::error_code ec;
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && at.address().is_v6()) acceptor_.set_option(net::ip::v6_only(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    return acceptor_.local_endpoint();
}

void Listener::start() { net::co_spawn(acceptor_.get_executor(), accept_loop(), net::detached); }

net::awaitable<void> Listener::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(new_executor(), kToken);
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (ec) {
            util::log_warn("accept failed: " + ec.message());
            net::steady_timer pause(acceptor_.get_executor(), kAcceptRetryDelay);
            co_await pause.async_wait(kToken);
            continue;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);  // answers are small; do not wait for more
        const auto client = socket.remote_endpoint(ec);
        if (ec) continue;  // already reset by the client: the socket closes here

        std::shared_ptr<AnyConnection> connection;
        const std::string* refused = &kServerFull;
        {
            std::lock_guard lock(mutex_);
            const auto verdict = stopping_ ? ConnectionQuota::Verdict::server_full : quota_.admit(client.address());
            if (verdict == ConnectionQuota::Verdict::admitted) {
                if (tls_)
                    connection = std::make_shared<TlsConnection>(std::move(socket), tls_->current(), router_, limits_,
                                                                 observers_);
                else
                    connection = std::make_shared<Connection>(std::move(socket), router_, limits_, observers_);
                connections_.insert(connection);
                peak_connections_ = std::max(peak_connections_, connections_.size());
            } else if (verdict == ConnectionQuota::Verdict::address_full) {
                refused = &kAddressFull;
            }
        }
        if (connection) {
            auto executor = connection->executor();
            net::co_spawn(executor, serve(std::move(connection), client.address()), net::detached);
        } else {
            auto executor = socket.get_executor();
            net::co_spawn(executor, refuse(std::move(socket), *refused), net::detached);
        }
    }
}

net::awaitable<void> Listener::serve(std::shared_ptr<AnyConnection> connection, net::ip::address client) {
    try {
        co_await connection->run();
    } catch (const std::exception& e) {
        util::log_error(std::string("connection ended by exception: ") + e.what());
    }
    std::function<void()> drained;
    bool trim = false;
    {
        std::lock_guard lock(mutex_);
        connections_.erase(connection);
        quota_.release(client);
        if (stopping_ && connections_.empty()) drained = std::move(on_drained_);
        const std::size_t open = connections_.size();
        if (open + kTrimAfterSurge <= peak_connections_ && open <= peak_connections_ / 2) {
            trim = true;
            peak_connections_ = open;
        }
    }
    connection.reset();  // its buffers are freed before the trim below
    if (drained) drained();
    // Once a surge of connections has mostly gone (a slowloris, a flood, a fleet reconnecting),
    // give the memory their buffers took back to the system: glibc keeps freed pages in its
    // arenas, and 2,000 closed connections left a release build's RSS at 23 MiB instead of 10;
    // malloc_trim returned 8 of the 12.5 MiB (the rest is Asio's per-descriptor state, pooled for
    // reuse, and fragmentation). A few milliseconds of this thread, once per surge.
    if (trim) ::malloc_trim(0);
}

net::awaitable<void> Listener::refuse(tcp::socket socket, const std::string& answer) {
    // A fresh socket's send buffer takes these few bytes at once: no write deadline needed. A TLS
    // client could not read a plain answer, and a handshake is the work a flood must not buy: it
    // is just closed.
    if (!tls_) co_await net::async_write(socket, net::buffer(answer), kToken);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

void Listener::shutdown(std::function<void()> on_drained) {
    net::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    });
    std::vector<std::shared_ptr<AnyConnection>> open;
    bool drained_now = false;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        open.assign(connections_.begin(), connections_.end());
        if (open.empty()) drained_now = true;
        else on_drained_ = std::move(on_drained);
    }
    for (auto& c : open) c->request_close();
    if (drained_now && on_drained) on_drained();
}

std::size_t Listener::connection_count() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

}  // namespace taskd::http
