#include "bench/report.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <istream>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace taskd::bench {
namespace json = boost::json;

namespace {

struct Quantile {
    const char* key;
    double q;
};
constexpr Quantile kQuantiles[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}};

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1e3; }

// Milliseconds with three significant figures: "0.412", "4.12", "41.2", "412".
std::string ms_text(double ms) {
    char text[32];
    if (ms < 1) std::snprintf(text, sizeof text, "%.3f", ms);
    else if (ms < 10) std::snprintf(text, sizeof text, "%.2f", ms);
    else if (ms < 100) std::snprintf(text, sizeof text, "%.1f", ms);
    else std::snprintf(text, sizeof text, "%.0f", ms);
    return text;
}

double number(const json::value* v) {
    if (!v) return 0;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    return 0;
}

std::string text_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string pad(std::string s, std::size_t width, bool right) {
    // Pads by code points, so that "×" and "≥" do not shift the columns.
    std::size_t shown = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++shown;
    if (shown >= width) return s;
    const std::string fill(width - shown, ' ');
    return right ? fill + s : s + fill;
}

std::string ratio_text(double r) {
    char text[32];
    std::snprintf(text, sizeof text, r < 10 ? "%.2f" : "%.0f", r);
    return text;
}

}  // namespace

std::string with_thousands(double value) {
    const long long n = std::llround(value);
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

std::string to_json_line(const RunInfo& info, const RunStats& s) {
    json::object o;
    o["system"] = info.system;
    o["scenario"] = info.scenario;
    o["protocol"] = info.protocol;
    o["connections"] = info.connections;
    o["threads"] = info.threads;
    o["rate"] = info.rate;
    o["ops"] = s.ok;
    o["failed"] = s.failed;
    o["requests"] = s.requests;
    o["seconds"] = s.seconds();
    o["ops_per_s"] = s.ops_per_second();
    o["requests_per_s"] = s.seconds() > 0 ? static_cast<double>(s.requests) / s.seconds() : 0.0;
    json::object latency;
    for (const auto& [key, q] : kQuantiles) latency[key] = us(s.latency_ns.value_at_quantile(q));
    latency["max"] = us(s.latency_ns.max());
    latency["mean"] = s.latency_ns.mean() / 1e3;
    o["latency_us"] = std::move(latency);
    json::object errors;
    for (const auto& [k, n] : s.errors) errors[k] = n;
    o["errors"] = std::move(errors);
    json::object samples;
    for (const auto& [k, text] : s.error_samples) samples[k] = text;
    o["error_samples"] = std::move(samples);
    json::object counters;
    for (const auto& [k, n] : s.counters) counters[k] = n;
    o["counters"] = std::move(counters);
    return json::serialize(o);
}

std::string to_text(const RunInfo& info, const RunStats& s) {
    std::ostringstream out;
    const auto& h = s.latency_ns;
    out << info.scenario << (info.system.empty() ? "" : " on " + info.system) << ": " << info.connections
        << " connections, " << info.threads << (info.threads == 1 ? " thread, " : " threads, ")
        << (info.rate > 0 ? "open loop at " + with_thousands(info.rate) + " ops/s" : std::string("closed loop")) << "\n";
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f", s.seconds());
    out << "  " << with_thousands(static_cast<double>(s.ok)) << " ops in " << seconds << " s: "
        << with_thousands(s.ops_per_second()) << " ops/s, "
        << with_thousands(s.seconds() > 0 ? static_cast<double>(s.requests) / s.seconds() : 0) << " requests/s\n";
    out << "  latency ms: p50 " << ms_text(us(h.value_at_quantile(0.5)) / 1e3) << "  p90 "
        << ms_text(us(h.value_at_quantile(0.9)) / 1e3) << "  p99 " << ms_text(us(h.value_at_quantile(0.99)) / 1e3)
        << "  p99.9 " << ms_text(us(h.value_at_quantile(0.999)) / 1e3) << "  max " << ms_text(us(h.max()) / 1e3)
        << "\n";
    out << "  errors: " << with_thousands(static_cast<double>(s.failed)) << "\n";
    for (const auto& [k, n] : s.errors) {
        out << "    " << k << ": " << with_thousands(static_cast<double>(n));
        if (auto it = s.error_samples.find(k); it != s.error_samples.end() && !it->second.empty())
            out << "  (" << it->second << ")";
        out << "\n";
    }
    for (const auto& [k, n] : s.counters) out << "  " << k << ": " << with_thousands(static_cast<double>(n)) << "\n";
    return out.str();
}

std::string progress_line(const std::string& scenario, const Progress& p) {
    const double secs = std::chrono::duration<double>(p.elapsed).count();
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.0f s", secs);
    return "\r" + scenario + "  " + elapsed + "  " + with_thousands(static_cast<double>(p.ok)) + " ok  " +
           with_thousands(secs > 0 ? static_cast<double>(p.ok) / secs : 0) + "/s  " +
           with_thousands(static_cast<double>(p.failed)) + " errors   ";
}

RatioSpec parse_ratio(const std::string& spec) {
    auto bad = [&] {
        return std::invalid_argument("--ratio " + spec + ": expected NAME=SCENARIO@SYSTEM/SCENARIO@SYSTEM[>=TARGET]");
    };
    RatioSpec r;
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) throw bad();
    r.name = spec.substr(0, eq);
    std::string rest = spec.substr(eq + 1);
    if (const auto ge = rest.find(">="); ge != std::string::npos) {
        try {
            r.target = std::stod(rest.substr(ge + 2));
        } catch (const std::exception&) {
            throw bad();
        }
        rest.resize(ge);
    }
    const auto slash = rest.find('/');
    if (slash == std::string::npos) throw bad();
    auto split = [&](const std::string& part, std::string& scenario, std::string& system) {
        const auto at = part.find('@');
        if (at == std::string::npos || at == 0 || at + 1 == part.size()) throw bad();
        scenario = part.substr(0, at);
        system = part.substr(at + 1);
    };
    split(rest.substr(0, slash), r.num_scenario, r.num_system);
    split(rest.substr(slash + 1), r.den_scenario, r.den_system);
    return r;
}

bool write_table(std::istream& in, const std::vector<RatioSpec>& ratios, std::ostream& out) {
    std::vector<json::object> runs;
    for (std::string line; std::getline(in, line);) {
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (!ec && v.is_object() && v.as_object().contains("scenario")) runs.push_back(std::move(v.as_object()));
    }

    const std::size_t kWidths[] = {10, 26, 11, 11, 9, 9, 8};
    const char* kHeads[] = {"scenario", "system", "ops/s", "requests/s", "p50 ms", "p99 ms", "errors"};
    std::string rule;
    for (std::size_t i = 0; i < 7; ++i) {
        out << pad(kHeads[i], kWidths[i], i >= 2) << (i < 6 ? "  " : "\n");
        rule += std::string(kWidths[i], '-') + (i < 6 ? "  " : "");
    }
    out << rule << "\n";
    for (const auto& r : runs) {
        const auto* latency = r.if_contains("latency_us");
        const auto* lat = latency ? latency->if_object() : nullptr;
        const std::string cells[] = {
            text_of(r, "scenario"),
            text_of(r, "system"),
            with_thousands(number(r.if_contains("ops_per_s"))),
            with_thousands(number(r.if_contains("requests_per_s"))),
            lat ? ms_text(number(lat->if_contains("p50")) / 1e3) : "-",
            lat ? ms_text(number(lat->if_contains("p99")) / 1e3) : "-",
            with_thousands(number(r.if_contains("failed")))};
        for (std::size_t i = 0; i < 7; ++i) out << pad(cells[i], kWidths[i], i >= 2) << (i < 6 ? "  " : "\n");
    }

    bool all_found = true;
    if (!ratios.empty()) out << "\n";
    for (const auto& spec : ratios) {
        // Every run of SCENARIO@SYSTEM, in input order: a ratio of two systems measured in
        // alternating rounds pairs round k with round k.
        auto throughputs = [&](const std::string& scenario, const std::string& system) {
            std::vector<double> found;
            for (const auto& r : runs)
                if (text_of(r, "scenario") == scenario && text_of(r, "system") == system)
                    found.push_back(number(r.if_contains("ops_per_s")));
            return found;
        };
        const auto num = throughputs(spec.num_scenario, spec.num_system);
        const auto den = throughputs(spec.den_scenario, spec.den_system);
        const bool den_ok = !den.empty() && std::all_of(den.begin(), den.end(), [](double d) { return d > 0; });
        if (num.empty() || !den_ok) {
            out << spec.name << ": not measured ("
                << (num.empty() ? spec.num_scenario + "@" + spec.num_system + " missing " : "")
                << (den_ok ? "" : spec.den_scenario + "@" + spec.den_system + " missing or 0") << ")\n";
            all_found = false;
            continue;
        }
        if (num.size() != den.size()) {
            out << spec.name << ": not measured (" << num.size() << " runs of " << spec.num_scenario << "@"
                << spec.num_system << " against " << den.size() << " of " << spec.den_scenario << "@"
                << spec.den_system << ": rounds must pair up)\n";
            all_found = false;
            continue;
        }
        // The median round, by its ratio (the lower middle one of an even count).
        std::vector<std::size_t> order(num.size());
        for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return num[a] / den[a] < num[b] / den[b]; });
        const std::size_t mid = order[(order.size() - 1) / 2];
        const double r = num[mid] / den[mid];
        out << spec.name << ": " << ratio_text(r) << "× (" << with_thousands(num[mid]) << " / "
            << with_thousands(den[mid]) << " ops/s";
        if (num.size() > 1) {
            out << ", the median of " << num.size() << " rounds:";
            for (std::size_t k = 0; k < num.size(); ++k) out << " " << ratio_text(num[k] / den[k]);
        }
        out << ")";
        if (spec.target > 0)
            out << "; target ≥ " << ratio_text(spec.target) << "×: "
                << (r >= spec.target ? "met" : "missed by " + ratio_text((1 - r / spec.target) * 100) + " %");
        out << "\n";
    }
    return all_found;
}

}  // namespace taskd::bench
