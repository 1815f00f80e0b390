// AccessLog: one line per answered request, for operators (--access-log, on by default):
//   2026-12-05T00:40:00.123456Z INFO  access GET /tasks/{task_id} 200 0.123ms 512B who=admin id=6f1c…
// or, with --log-format json, the same as one JSON object per line. It names the route's
// pattern, never the target: no task id, no query, and never a token, a payload or a result.
//
// Cost: a line is formatted into the buffer of this thread's shard (metrics/sharded) and
// written with the shard's other lines once it holds 16 KiB, or by the flusher thread every
// 200 ms, so a request pays no write(2) of its own (a syscall costs about 1.3 µs on the
// benchmark VMs, a tenth of a GET). So lines reach stderr up to 200 ms late, and not
// necessarily in order with other threads' lines or with the other log lines.
//
// Thread-safety: record() and flush() from any thread.
#pragma once

#include "http/message.hpp"
#include "metrics/sharded.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace taskd::http {

class AccessLog {
public:
    struct Entry {
        Method method = Method::other;
        std::string_view route;  // the router's pattern; empty when no route matched
        unsigned status = 0;
        std::chrono::steady_clock::duration duration{};
        std::size_t bytes = 0;       // of the answer's body
        std::string_view who;        // empty: not authenticated
        std::string_view request_id;
    };

    // Disabled, record() does nothing and no thread runs.
    explicit AccessLog(bool enabled);
    ~AccessLog();  // writes what is buffered
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    bool enabled() const { return enabled_; }
    void record(const Entry& entry);
    void flush();

private:
    struct Shard {
        std::mutex mutex;
        std::string lines;
    };
    Shard& my_shard();
    void write_out(std::string& lines);

    const bool enabled_;
    std::array<Shard, metrics::kShards> shards_;  // by metrics::thread_shard()
    std::mutex write_mutex_;  // whole buffers, so that lines of two shards never interleave
    std::mutex stop_mutex_;
    std::condition_variable stop_changed_;
    bool stopping_ = false;
    std::thread flusher_;
};

// True when `id` may be echoed and logged as a request id: 1-128 characters of
// [A-Za-z0-9._~:+/=-] (UUIDs, hex, base64 and the like; nothing that needs quoting).
bool is_valid_request_id(std::string_view id);

// A new request id: 32 hexadecimal digits, unique (a random prefix per thread, then a mixed count).
void make_request_id(std::string& out);

}  // namespace taskd::http
