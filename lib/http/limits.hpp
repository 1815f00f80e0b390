// Limits of the HTTP layer. Each is a flag of taskd (see server/options.cpp) and each exists
// because an unbounded value lets one client take memory, descriptors or time from the rest.
#pragma once

#include <chrono>
#include <cstddef>

namespace taskd::http {

struct Limits {
    // A task's payload is configuration, not a file transfer: 1 MiB is generous.
    std::size_t max_body_bytes = 1 << 20;
    // Bearer tokens and ids are short; a 16 KiB header is far past any honest request.
    std::size_t max_header_bytes = 16 << 10;
    // Every connection costs a descriptor and buffers; long-poll waiters are connections too,
    // so this must stay above --max-waiters.
    std::size_t max_connections = 16384;
    // Connections from one client address (0: no limit). Without it one client can take every
    // connection and deny service to the rest. 1024 is far past what an agent host or a control
    // plane keeps open, and leaves most of max_connections to other addresses; behind a reverse
    // proxy every client shares the proxy's address: raise it there, or set 0.
    std::size_t max_connections_per_ip = 1024;
    // From the first byte of a request to the end of its header (slowloris).
    std::chrono::milliseconds header_timeout{std::chrono::seconds{10}};
    // Reading the body once the header is in.
    std::chrono::milliseconds body_timeout{std::chrono::seconds{30}};
    // A keep-alive connection waiting for its next request.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds{60}};
    // Writing one response (or one chunk of a streamed one) to a slow reader.
    std::chrono::milliseconds write_timeout{std::chrono::seconds{30}};
};

}  // namespace taskd::http
