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
#include <string_view>

namespace taskd::model {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// "2026-11-24T22:09:03.123456Z"
void append_rfc3339(std::string& out, Timestamp t);
std::string to_rfc3339(Timestamp t);

// Reads an RFC 3339 date-time ("2026-12-24T02:00:00+01:00", "...T01:00:00.5Z"): `T`, `t` or a
// space between date and time, any number of fraction digits (kept to the microsecond,
// truncated), and an offset: `Z`, `z` or +/-HH:MM. A time without an offset names no instant:
// missing_offset. Years 0000-9999, seconds 00-60 (a leap second reads as :59.999999).
enum class TimeParse { ok, invalid, missing_offset };
struct ParsedTime {
    TimeParse outcome = TimeParse::invalid;
    Timestamp time{};
};
ParsedTime parse_rfc3339(std::string_view text);

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
