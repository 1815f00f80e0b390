// The taskd server: wires the store, the API and the HTTP listener together and runs them
// until SIGTERM or SIGINT.
//
// Start: create the data directory, load or generate the admin token, bind, log where it
// listens. Stop: stop accepting, let each connection finish the request it is serving (up to
// --shutdown-timeout), then return 0.
#pragma once

#include "server/config.hpp"

namespace taskd::server {

// Returns the process exit status: 0 after a clean shutdown, 1 when the server cannot start
// (address in use, data directory not writable), 2 for a configuration it refuses.
int run(const Config& config);

}  // namespace taskd::server
