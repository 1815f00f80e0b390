// Timestamps and the clock they come from.
//
// Every time the API shows is UTC with microsecond precision, printed as RFC 3339 with exactly
// six fraction digits. The clock is a seam: the server reads SystemClock, tests drive a
// ManualClock so that lease expiry can be tested without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace taskd::model {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// "2026-11-24T22:09:03.123456Z"
void append_rfc3339(std::string& out, Timestamp t);
std::string to_rfc3339(Timestamp t);

inline std::int64_t to_micros(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_micros(std::int64_t us) { return Timestamp{std::chrono::microseconds{us}}; }

// Thread-safe: now() may be called from any thread.
class Clock {
public:
    virtual ~Clock() = default;
    virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
public:
    Timestamp now() const override;
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Timestamp start) : now_us_(to_micros(start)) {}
    Timestamp now() const override { return from_micros(now_us_.load()); }
    void advance(std::chrono::microseconds by) { now_us_ += by.count(); }
    void set(Timestamp t) { now_us_ = to_micros(t); }

private:
    std::atomic<std::int64_t> now_us_;
};

}  // namespace taskd::model
