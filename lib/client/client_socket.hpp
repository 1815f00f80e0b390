// ClientSocket: what every client connection (taskd-bench's, taskd-agent's) shares, whatever its
// protocol: a TCP socket to one endpoint, opened on first use and again after an error, closed by
// the Watchdog (through Watched::abort) when an operation takes longer than its timeout.
//
// Lives on one io_context thread (not thread-safe).
#pragma once

#include "client/watchdog.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>

namespace taskd::client {

// What went wrong with an exchange, if anything.
enum class Transport { ok, io_error, timed_out };

class ClientSocket : public Watched {
public:
    ClientSocket(boost::asio::any_io_executor executor, boost::asio::ip::tcp::endpoint endpoint);

    // Opens the connection unless it is open (setup calls it, so that the measured phase does
    // not pay for it). No Nagle delay: one small request at a time.
    virtual boost::asio::awaitable<Transport> connect();
    bool is_open() const { return open_; }
    std::uint64_t connects() const { return connects_; }
    const boost::system::error_code& last_error() const { return last_error_; }

protected:
    // Closes the socket; the next exchange opens a new one. on_close() drops what the
    // protocol had buffered, on_open() runs once the new connection is up.
    void close();
    virtual void on_close() {}
    virtual void on_open() {}
    // The error that ended an exchange (a timeout shows as the abort's).
    void failed(const boost::system::error_code& ec) { last_error_ = ec; }

    boost::asio::ip::tcp::socket socket_;

private:
    void abort() override;

    boost::asio::ip::tcp::endpoint endpoint_;
    bool open_ = false;
    std::uint64_t connects_ = 0;
    boost::system::error_code last_error_;
};

}  // namespace taskd::client
