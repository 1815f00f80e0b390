#include "client/client_socket.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace taskd::client {
namespace net = boost::asio;
using boost::system::error_code;

ClientSocket::ClientSocket(net::any_io_executor executor, net::ip::tcp::endpoint endpoint)
    : socket_(std::move(executor)), endpoint_(endpoint) {}

void ClientSocket::abort() {
    error_code ignored;
    socket_.close(ignored);
}

void ClientSocket::close() {
    error_code ignored;
    socket_.close(ignored);
    open_ = false;
    on_close();
}

net::awaitable<Transport> ClientSocket::connect() {
    if (open_) co_return Transport::ok;
    clear_timed_out();
    begin();
    auto [ec] = co_await socket_.async_connect(endpoint_, net::as_tuple(net::use_awaitable));
    end();
    if (ec) {
        failed(ec);
        close();
        co_return timed_out() ? Transport::timed_out : Transport::io_error;
    }
    error_code ignored;
    socket_.set_option(net::ip::tcp::no_delay(true), ignored);
    open_ = true;
    ++connects_;
    on_open();
    co_return Transport::ok;
}

}  // namespace taskd::client
