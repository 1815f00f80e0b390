#include "model/time.hpp"


namespace taskd::model {
namespace {

// Writes `value` zero-padded to exactly `width` digits.
char* put_digits(char* p, unsigned value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return p + width;
}

}  // namespace

void append_rfc3339(std::string& out, Timestamp t) {
    using namespace std::chrono;
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const auto in_day = t - day;
    const auto secs = duration_cast<seconds>(in_day).count();
    const auto micros = static_cast<unsigned>((in_day - seconds{secs}).count());

    char buf[27];
    char* p = put_digits(buf, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
    *p++ = '-';
    p = put_digits(p, static_cast<unsigned>(ymd.month()), 2);
    *p++ = '-';
    p = put_digits(p, static_cast<unsigned>(ymd.day()), 2);
    *p++ = 'T';
    p = put_digits(p, static_cast<unsigned>(secs / 3600), 2);
    *p++ = ':';
    p = put_digits(p, static_cast<unsigned>(secs / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, static_cast<unsigned>(secs % 60), 2);
    *p++ = '.';
    p = put_digits(p, micros, 6);
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
