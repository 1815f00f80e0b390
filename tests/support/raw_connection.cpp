#include "raw_connection.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include <cerrno>
#include <poll.h>
#include <stdexcept>

namespace taskd::test {
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using net::ip::tcp;

namespace {

// The socket as Beast's SyncReadStream, each read bounded.
struct BoundedReader {
    tcp::socket& socket;

    template <class Buffers>
    std::size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
        if (!wait_readable(socket.native_handle(), kWaitBoundMs)) {
            ec = net::error::timed_out;
            return 0;
        }
        return socket.read_some(buffers, ec);
    }
    template <class Buffers>
    std::size_t read_some(const Buffers& buffers) {
        boost::system::error_code ec;
        const std::size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }
};

}  // namespace

bool wait_readable(int fd, int bound_ms) {
    pollfd p{fd, POLLIN, 0};
    int n = 0;
    do {
        n = ::poll(&p, 1, bound_ms);
    } while (n < 0 && errno == EINTR);
    return n > 0;
}

RawConnection::RawConnection(unsigned short port, int receive_buffer_bytes, const std::string& host) : socket_(ioc_) {
    const auto address = net::ip::make_address(host);
    socket_.open(address.is_v6() ? tcp::v6() : tcp::v4());
    if (receive_buffer_bytes > 0) socket_.set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
    socket_.connect(tcp::endpoint(address, port));
    socket_.set_option(tcp::no_delay(true));
}

void RawConnection::send(std::string_view bytes) { net::write(socket_, net::buffer(bytes)); }

bool RawConnection::try_send(std::string_view bytes) {
    boost::system::error_code ec;
    net::write(socket_, net::buffer(bytes), ec);
    return !ec;
}

std::optional<RawReply> RawConnection::try_read() {
    BoundedReader reader{socket_};
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    boost::system::error_code ec;
    bhttp::read(reader, buffer_, parser, ec);
    if (ec) return std::nullopt;
    return parser.release();
}

RawReply RawConnection::read() {
    auto r = try_read();
    if (!r) throw std::runtime_error("no response from the server");
    return std::move(*r);
}

unsigned RawConnection::read_status() {
    auto r = try_read();
    return r ? r->result_int() : 0;
}

bool RawConnection::closed_by_server(int bound_ms) {
    char junk[4096];
    for (;;) {
        if (!wait_readable(socket_.native_handle(), bound_ms)) return false;
        boost::system::error_code ec;
        socket_.read_some(net::buffer(junk), ec);
        if (ec == net::error::eof || ec == net::error::connection_reset) return true;
        if (ec) return false;
    }
}

std::string raw_request(const std::string& method, const std::string& target, const std::string& token,
                        const std::string& body, const std::string& extra_headers) {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return r + extra_headers + "\r\n" + body;
}

}  // namespace taskd::test
