// Executes what the command line asked for: one load run, or the table of earlier runs.
#pragma once

#include "bench/options.hpp"

namespace taskd::bench {

// Returns the exit status: 0, 1 when the run could not be made (setup refused, no connection)
// or a table's ratio had no figures. A run with failed operations still exits 0: the failures
// are its result, reported by kind.
int run(const Options& options);

}  // namespace taskd::bench
