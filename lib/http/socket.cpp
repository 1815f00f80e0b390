#include "http/socket.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

#include <cerrno>
#include <sys/socket.h>

namespace taskd::http {
namespace net = boost::asio;

namespace detail {

ReactorOp::status read_once(int fd, net::mutable_buffer buffer, boost::system::error_code& ec, std::size_t& bytes) {
    if (buffer.size() == 0) return ReactorOp::done;  // as async_read_some(): nothing asked, nothing read
    for (;;) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n > 0) {
            bytes = static_cast<std::size_t>(n);
            return bytes < buffer.size() ? ReactorOp::done_and_exhausted : ReactorOp::done;
        }
        if (n == 0) {
            ec = net::error::eof;
            return ReactorOp::done_and_exhausted;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return ReactorOp::not_done;
        ec = boost::system::error_code(errno, boost::asio::error::get_system_category());
        return ReactorOp::done;
    }
}

}  // namespace detail

Socket::Socket(net::ip::tcp::socket&& socket)
    : net::ip::tcp::socket(std::move(socket)),
      reactor_(net::use_service<net::detail::reactor>(net::query(get_executor(), net::execution::context))) {
    // Reads made by the reactor, and a synchronous send() of the owner, must not block.
    boost::system::error_code ignored;
    non_blocking(true, ignored);
}

}  // namespace taskd::http
