// The command line of taskd-bench, read into one struct (Boost.Program_options).
//
//   taskd-bench --scenario lifecycle --port 8000 --admin-token-file data/admin.token
//               --connections 64 --duration 10s [--rate 5000] [--json] [--label NAME]
//               [--console-pollers 10]
//   taskd-bench --report results.jsonl [--ratio NAME=SCEN@SYS/SCEN@SYS>=TARGET ...]
#pragma once

#include "bench/load.hpp"
#include "bench/report.hpp"
#include "bench/scenarios.hpp"

#include <optional>
#include <string>
#include <vector>

namespace taskd::bench {

struct Options {
    // A load run:
    std::string scenario;
    ScenarioOptions scenario_options;
    LoadPlan plan;
    std::string label;
    bool json = false;      // one JSON line on stdout instead of text
    bool progress = true;   // the progress line, when stderr is a terminal
    std::size_t console_pollers = 0;  // open consoles polling GET /stats beside the load
    // Or a table of earlier runs:
    std::optional<std::string> report_file;
    std::vector<RatioSpec> ratios;
};

// Fills `out` from the command line. Returns an exit status when the program should stop now:
// 0 after --help, 2 after a bad argument (with one line on stderr).
std::optional<int> parse_options(int argc, const char* const argv[], Options& out);

}  // namespace taskd::bench
