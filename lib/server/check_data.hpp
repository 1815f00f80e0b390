// taskd --check-data DIR: verify a data directory without starting the server.
//
// Runs recovery read-only (nothing on disk changes), rebuilds the state in memory and prints
// the snapshot, the segments (each with the bytes its records use against the bytes the file
// takes on disk), the records replayed by type, the state's counts and any damage.
#pragma once

#include <filesystem>
#include <ostream>

namespace taskd::server {

// 0: the directory recovers cleanly; 1: it recovers, but a torn tail would be cut; 2: damage
// that stops a normal start (or the directory cannot be read).
int check_data(const std::filesystem::path& dir, std::ostream& out);

}  // namespace taskd::server
