// ClientSocket: one abusive client's TCP connection, as a bare non-blocking descriptor, so that a
// test can hold thousands of them in one thread: connect from a chosen loopback source address
// (127.0.0.0/8 is all on lo, so 127.0.0.2 is another client to the server), send without ever
// waiting, and learn without waiting whether the server has closed it, with or without reading
// what the server sent (a client that never reads must not read to find out).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace taskd::test {

class ClientSocket {
public:
    // Connects to 127.0.0.1:`port` from `source` (an IPv4 loopback address); throws on failure.
    // `receive_buffer_bytes` > 0 sets SO_RCVBUF, so that a client that never reads stalls the
    // server's writes early.
    ClientSocket(unsigned short port, const std::string& source, int receive_buffer_bytes = 0);
    ~ClientSocket();
    ClientSocket(ClientSocket&& other) noexcept;
    ClientSocket& operator=(ClientSocket&& other) noexcept;
    ClientSocket(const ClientSocket&) = delete;
    ClientSocket& operator=(const ClientSocket&) = delete;

    // Sends what the socket takes now, up to all of `bytes`; the count sent, or -1 once the
    // connection has failed (closed or reset by the server).
    long send_some(std::string_view bytes);
    // True once the server has closed or reset the connection. Drops whatever the server sent
    // before, without waiting for more.
    bool closed_by_server();
    // The same, without reading: the server's FIN or RST has arrived (poll's POLLRDHUP, POLLHUP).
    bool hung_up_by_server() const;

    struct Answer {
        unsigned status = 0;
        std::string head;  // status line and header fields
        std::string body;
    };
    // Waits at most `bound_ms` for one whole answer framed by Content-Length (what the server's
    // refusals and small answers are); nullopt on a close, a reset or when the bound passes.
    std::optional<Answer> read_answer(int bound_ms);
    void close();
    bool is_open() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace taskd::test
