#include "client_socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <chrono>
#include <unistd.h>
#include <utility>

namespace taskd::test {
namespace {

sockaddr_in ipv4(const std::string& address, unsigned short port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) throw std::invalid_argument("not IPv4: " + address);
    return a;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

}  // namespace

ClientSocket::ClientSocket(unsigned short port, const std::string& source, int receive_buffer_bytes) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    if (receive_buffer_bytes > 0)
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const sockaddr_in from = ipv4(source, 0);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
        ::close(fd_);
        fail("bind " + source);
    }
    // Blocking: on loopback the kernel completes the handshake whether or not the server has
    // accepted yet (the listen backlog holds it).
    const sockaddr_in to = ipv4("127.0.0.1", port);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd_);
        fail("connect");
    }
}

ClientSocket::~ClientSocket() { close(); }

ClientSocket::ClientSocket(ClientSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

ClientSocket& ClientSocket::operator=(ClientSocket&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

long ClientSocket::send_some(std::string_view bytes) {
    if (fd_ < 0) return -1;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

bool ClientSocket::closed_by_server() {
    if (fd_ < 0) return true;
    char junk[4096];
    for (;;) {
        const ssize_t n = ::recv(fd_, junk, sizeof junk, MSG_DONTWAIT);
        if (n > 0) continue;
        if (n == 0) return true;
        if (errno == EINTR) continue;
        return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

bool ClientSocket::hung_up_by_server() const {
    if (fd_ < 0) return true;
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::optional<ClientSocket::Answer> ClientSocket::read_answer(int bound_ms) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds{bound_ms};
    std::string in;
    std::size_t head_end = std::string::npos;
    std::size_t length = 0;
    for (;;) {
        if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
            const auto field = in.find("Content-Length: ");
            if (field == std::string::npos || field > head_end) return std::nullopt;
            length = std::stoul(in.substr(field + 16));
        }
        if (head_end != std::string::npos && in.size() >= head_end + 4 + length) {
            Answer a;
            a.head = in.substr(0, head_end);
            a.body = in.substr(head_end + 4, length);
            if (a.head.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
            a.status = static_cast<unsigned>(std::stoul(a.head.substr(9, 3)));
            return a;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p{fd_, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
        char chunk[4096];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return std::nullopt;
        if (n > 0) in.append(chunk, static_cast<std::size_t>(n));
    }
}

void ClientSocket::close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

}  // namespace taskd::test
