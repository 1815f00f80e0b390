// Command line, environment and config file -> Config (Boost.Program_options).
//
// Every flag --some-flag may also come from TASKD_SOME_FLAG or from a line "some-flag = value"
// of --config FILE; a flag given on the command line wins over the environment, which wins
// over the file. A bad value is one line on stderr and exit status 2.
#pragma once

#include "server/config.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace taskd::server {

struct ParsedOptions {
    bool run = false;       // false: print `output` and exit with `exit_code`
    int exit_code = 0;
    std::string output;     // --help / --version text, or the one-line error
    Config config;
};

// Reads the process environment for TASKD_* variables.
ParsedOptions parse_options(int argc, const char* const argv[]);

}  // namespace taskd::server
