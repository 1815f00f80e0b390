// BeanstalkConnection: a minimal client of beanstalkd's text protocol (doc/protocol.txt in
// beanstalkd), enough to drive a task lifecycle: use/watch a tube, put, reserve, delete.
//
// Each command is one line ("put 0 0 60 83\r\n<data>\r\n"); each reply is one line, and
// RESERVED is followed by the job's data. Like HttpConnection it keeps one connection open,
// sends one command at a time, reopens after an error, and is aborted by the Watchdog when a
// reply takes too long. Lives on one io_context thread.
#pragma once

#include "client/client_socket.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskd::bench {

using client::ClientSocket;
using client::Transport;

struct BeanstalkReply {
    std::string line;  // without "\r\n": "INSERTED 12", "RESERVED 12 83", "DELETED", "TIMED_OUT"
    std::string data;  // the job body after RESERVED
};

class BeanstalkConnection final : public ClientSocket {
public:
    using ClientSocket::ClientSocket;

    // Sends `command` (one line, no "\r\n") followed by `data` as a job body when `with_data`,
    // and reads one reply. Reopening the connection forgets `use`/`watch`: callers that depend
    // on a tube say so again after `reconnected()`.
    boost::asio::awaitable<Transport> command(std::string_view command, BeanstalkReply& out,
                                              std::optional<std::string_view> data = std::nullopt);
    // True once after each reopening (the first open included).
    bool reconnected() {
        const bool r = reconnected_;
        reconnected_ = false;
        return r;
    }

private:
    void on_close() override { in_.clear(); }
    void on_open() override { reconnected_ = true; }

    std::string in_;   // bytes read and not yet consumed
    std::string out_;  // the command being sent
    bool reconnected_ = false;
};

// "INSERTED 12" -> 12; "RESERVED 12 83" -> 12 (and 83 in `bytes`); nullopt for other replies.
std::optional<std::uint64_t> parse_job_id(std::string_view line, std::string_view verb,
                                          std::uint64_t* bytes = nullptr);

}  // namespace taskd::bench
