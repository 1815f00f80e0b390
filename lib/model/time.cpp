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

Timestamp SystemClock::now() const {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace taskd::model
