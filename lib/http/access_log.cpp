#include "http/access_log.hpp"

#include "metrics/sharded.hpp"
#include "util/json_text.hpp"
#include "util/log.hpp"

#include <charconv>
#include <cstring>
#include <random>
#include <unistd.h>

namespace taskd::http {
namespace {

// A shard's lines are written once they reach this size; the flusher writes the rest.
constexpr std::size_t kFlushBytes = 16 * 1024;
constexpr auto kFlushInterval = std::chrono::milliseconds{200};

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

// Milliseconds with three decimals, without floating point: 0.123, 12.000.
void append_millis(std::string& out, std::chrono::steady_clock::duration d) {
    const auto micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    append_number(out, micros / 1000);
    out += '.';
    const auto frac = micros % 1000;
    out += static_cast<char>('0' + frac / 100);
    out += static_cast<char>('0' + frac / 10 % 10);
    out += static_cast<char>('0' + frac % 10);
}

// "00" ... "ff": a byte's two hex digits in one lookup.
constexpr auto kHexPairs = [] {
    constexpr char kHex[] = "0123456789abcdef";
    std::array<std::array<char, 2>, 256> pairs{};
    for (std::size_t b = 0; b < 256; ++b) pairs[b] = {kHex[b >> 4], kHex[b & 0xf]};
    return pairs;
}();

}  // namespace

AccessLog::AccessLog(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    flusher_ = std::thread([this] {
        std::unique_lock lock(stop_mutex_);
        while (!stop_changed_.wait_for(lock, kFlushInterval, [this] { return stopping_; })) {
            lock.unlock();
            flush();
            lock.lock();
        }
    });
}

AccessLog::~AccessLog() {
    if (flusher_.joinable()) {
        {
            std::lock_guard lock(stop_mutex_);
            stopping_ = true;
        }
        stop_changed_.notify_all();
        flusher_.join();
    }
    flush();
}

AccessLog::Shard& AccessLog::my_shard() { return shards_[metrics::thread_shard()]; }

void AccessLog::record(const Entry& e) {
    if (!enabled_) return;
    const std::string_view route = e.route.empty() ? std::string_view("-") : e.route;
    const std::string_view who = e.who.empty() ? std::string_view("-") : e.who;
    Shard& shard = my_shard();
    std::string full;
    {
        // The line is formatted straight into the shard's buffer: its lock is this thread's
        // alone (the flusher takes it for a swap every 200 ms).
        std::lock_guard lock(shard.mutex);
        std::string& line = shard.lines;
        util::append_log_prefix(line, util::LogLevel::info);
        if (util::log_format() == util::LogFormat::json) {
            line += R"("msg":"access","method":")";
            line += to_string(e.method);
            line += R"(","route":)";
            util::append_json_string(line, route);
            line += R"(,"status":)";
            append_number(line, e.status);
            line += R"(,"duration_ms":)";
            append_millis(line, e.duration);
            line += R"(,"bytes":)";
            append_number(line, e.bytes);
            line += R"(,"who":)";
            util::append_json_string(line, who);
            line += R"(,"request_id":)";
            util::append_json_string(line, e.request_id);
            line += "}\n";
        } else {
            line += "access ";
            line += to_string(e.method);
            line += ' ';
            line += route;
            line += ' ';
            append_number(line, e.status);
            line += ' ';
            append_millis(line, e.duration);
            line += "ms ";
            append_number(line, e.bytes);
            line += "B who=";
            line += who;
            line += " id=";
            line += e.request_id;
            line += '\n';
        }
        if (line.size() < kFlushBytes) return;
        full.swap(line);
        line.reserve(kFlushBytes + 1024);
    }
    write_out(full);
}

void AccessLog::flush() {
    for (Shard& shard : shards_) {
        std::string lines;
        {
            std::lock_guard lock(shard.mutex);
            lines.swap(shard.lines);
        }
        if (!lines.empty()) write_out(lines);
    }
}

void AccessLog::write_out(std::string& lines) {
    std::lock_guard lock(write_mutex_);
    std::string_view rest = lines;
    while (!rest.empty()) {
        const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n <= 0) return;  // stderr gone: nothing better to do with an access line
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool is_valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '~' || c == ':' || c == '+' || c == '/' || c == '=' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void make_request_id(std::string& out) {
    // Unique, not secret (it is echoed to the client and logged): a random prefix per thread and
    // that thread's count of ids, mixed by splitmix64's finalizer, which is a bijection, so that
    // ids of one thread never repeat and do not look sequential. Formatting 16 bytes of
    // mt19937_64 output cost 700 instructions, 5 % of a GET (BENCHMARKS.md, "Metrics and logs").
    struct State {
        std::uint64_t prefix;
        std::uint64_t count = 0;
    };
    thread_local State state{std::mt19937_64{std::random_device{}()}()};
    std::uint64_t z = ++state.count * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    out.resize(32);
    const auto put = [](char* at, std::uint64_t word) {
        for (int i = 7; i >= 0; --i, word >>= 8) std::memcpy(at + 2 * i, kHexPairs[word & 0xff].data(), 2);
    };
    put(out.data(), state.prefix);
    put(out.data() + 16, z);
}

}  // namespace taskd::http
