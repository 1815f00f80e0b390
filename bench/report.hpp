// Reporting: a run's result as text and as one JSON line, the progress line on a terminal, and
// the side-by-side table that scripts/bench prints from many runs' JSON lines.
//
// Latencies are kept in nanoseconds and shown in milliseconds (text) or microseconds (JSON).
// An operation is a scenario's unit of work (a lifecycle is three requests), so the figures
// carry both ops/s and requests/s.
#pragma once

#include "bench/load.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace taskd::bench {

// What was run, for the record.
struct RunInfo {
    std::string system;    // --label: "taskd fsync=always", "original", "nginx"
    std::string scenario;
    std::string protocol;  // "http", "beanstalk"
    std::size_t connections = 0;
    unsigned threads = 0;
    double rate = 0;       // 0 = closed loop
};

// One line of JSON (no newline), the format --json prints and --report reads.
std::string to_json_line(const RunInfo& info, const RunStats& stats);
// A few lines for a person: throughput, percentiles, errors by kind with a sample of each.
std::string to_text(const RunInfo& info, const RunStats& stats);
// "\r<scenario>  12.0 s  98,765 ok  8,230/s  0 errors" (no newline: it is redrawn in place).
std::string progress_line(const std::string& scenario, const Progress& p);

// A ratio between two runs in the table: NAME=SCENARIO@SYSTEM/SCENARIO@SYSTEM[>=TARGET].
struct RatioSpec {
    std::string name;
    std::string num_scenario, num_system, den_scenario, den_system;
    double target = 0;  // 0: none
};
// Throws std::invalid_argument for a malformed spec.
RatioSpec parse_ratio(const std::string& spec);

// Reads JSON lines (as to_json_line writes them; other lines are skipped) and writes one table,
// a row per run in input order, then each ratio with its target. When both sides of a ratio
// were run several times (alternating rounds, so that both saw the same host), round k is paired
// with round k and the median round's ratio is the one judged. Returns false when a ratio's
// runs are missing, have no throughput or do not pair up.
bool write_table(std::istream& json_lines, const std::vector<RatioSpec>& ratios, std::ostream& out);

// 12345.6 -> "12,346".
std::string with_thousands(double value);

}  // namespace taskd::bench
