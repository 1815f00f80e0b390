// What a running process holds now, read from /proc/<pid>: its open descriptors and its resident
// memory. For tests that a server gives back what a burst of clients made it take.
#pragma once

#include <cstddef>

namespace taskd::test {

// Entries of /proc/<pid>/fd; throws if the process is not there.
std::size_t open_descriptors(int pid);
// VmRSS of /proc/<pid>/status, in bytes; throws if the process is not there.
std::size_t resident_bytes(int pid);

}  // namespace taskd::test
