// Command line, environment and config file -> Config (Boost.Program_options), with taskd's
// conventions (server/options.hpp): --some-flag may also come from TASKD_AGENT_SOME_FLAG or a
// line "some-flag = value" of --config FILE; the command line wins over the environment, which
// wins over the file, except --allow-root, whose directories from every source add up. A bad
// value is one line on stderr and exit status 2.
#pragma once

#include "agent/config.hpp"

#include <string>

namespace taskd::agent {

struct ParsedOptions {
    bool run = false;    // false: print `output` and exit with `exit_code`
    int exit_code = 0;
    std::string output;  // --help / --version text, or the one-line error
    Config config;
};

// Reads the process environment for TASKD_AGENT_* variables, and the token file.
ParsedOptions parse_options(int argc, const char* const argv[]);

}  // namespace taskd::agent
