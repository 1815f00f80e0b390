#include "model/time.hpp"

#include <array>
#include <cstring>

namespace taskd::model {
namespace {

// "00" to "99": two digits per copy instead of a division per digit. Every task in every answer
// carries two or three timestamps (callgrind: about 300 instructions each a digit at a time, 160
// this way).
constexpr auto kPairs = [] {
    std::array<std::array<char, 2>, 100> pairs{};
    for (int n = 0; n < 100; ++n) pairs[n] = {static_cast<char>('0' + n / 10), static_cast<char>('0' + n % 10)};
    return pairs;
}();

char* put2(char* p, unsigned value) {
    std::memcpy(p, kPairs[value].data(), 2);
    return p + 2;
}

}  // namespace

void append_rfc3339(std::string& out, Timestamp t) {
    using namespace std::chrono;
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const auto in_day = (t - day).count();  // microseconds into the day
    const auto secs = static_cast<unsigned>(in_day / 1'000'000);
    const auto micros = static_cast<unsigned>(in_day % 1'000'000);
    // Years 0-9999, as RFC 3339 allows; taskd's clock never leaves them.
    const auto year = static_cast<unsigned>(static_cast<int>(ymd.year()));

    char buf[27];
    char* p = put2(buf, year / 100 % 100);
    p = put2(p, year % 100);
    *p++ = '-';
    p = put2(p, static_cast<unsigned>(ymd.month()));
    *p++ = '-';
    p = put2(p, static_cast<unsigned>(ymd.day()));
    *p++ = 'T';
    p = put2(p, secs / 3600);
    *p++ = ':';
    p = put2(p, secs / 60 % 60);
    *p++ = ':';
    p = put2(p, secs % 60);
    *p++ = '.';
    p = put2(p, micros / 10000);
    p = put2(p, micros / 100 % 100);
    p = put2(p, micros % 100);
    *p++ = 'Z';
    out.append(buf, static_cast<std::size_t>(p - buf));
}

std::string to_rfc3339(Timestamp t) {
    std::string out;
    append_rfc3339(out, t);
    return out;
}

namespace {

// `n` decimal digits at `p` as a number; false when any is not a digit.
bool digits(std::string_view text, std::size_t p, std::size_t n, int& out) {
    if (p + n > text.size()) return false;
    out = 0;
    for (std::size_t i = p; i < p + n; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    return true;
}

}  // namespace

ParsedTime parse_rfc3339(std::string_view text) {
    using namespace std::chrono;
    ParsedTime out;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    // "YYYY-MM-DDTHH:MM:SS": 19 characters at fixed places.
    if (!digits(text, 0, 4, y) || text.size() < 19 || text[4] != '-' || !digits(text, 5, 2, mo) || text[7] != '-' ||
        !digits(text, 8, 2, d) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
        !digits(text, 11, 2, h) || text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' ||
        !digits(text, 17, 2, s))
        return out;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return out;
    std::size_t p = 19;
    std::int64_t micros = 0;
    if (p < text.size() && text[p] == '.') {
        ++p;
        const std::size_t first = p;
        std::int64_t scale = 100'000;
        for (; p < text.size() && text[p] >= '0' && text[p] <= '9'; ++p) {
            micros += (text[p] - '0') * scale;
            scale /= 10;
        }
        if (p == first) return out;
    }
    if (s == 60) {  // a leap second: the last microsecond of the minute before it
        s = 59;
        micros = 999'999;
    }
    std::int64_t offset_minutes = 0;
    if (p == text.size()) {
        out.outcome = TimeParse::missing_offset;
        return out;
    }
    if (text[p] == 'Z' || text[p] == 'z') {
        ++p;
    } else if (text[p] == '+' || text[p] == '-') {
        int oh = 0, om = 0;
        if (!digits(text, p + 1, 2, oh) || p + 3 >= text.size() || text[p + 3] != ':' || !digits(text, p + 4, 2, om) ||
            oh > 23 || om > 59)
            return out;
        offset_minutes = (text[p] == '-' ? -1 : 1) * (oh * 60 + om);
        p += 6;
    } else {
        return out;
    }
    if (p != text.size()) return out;
    const auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + microseconds{micros};
    out.time = time_point_cast<microseconds>(local - minutes{offset_minutes});
    // An offset can carry 0000-01-01 or 9999-12-31 past the years append_rfc3339 writes.
    constexpr auto kFirst = sys_days{year{0} / 1 / 1};
    constexpr auto kEnd = sys_days{year{10000} / 1 / 1};
    if (out.time < kFirst || out.time >= kEnd) return out;
    out.outcome = TimeParse::ok;
    return out;
}

Timestamp SystemClock::now() const {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace taskd::model
