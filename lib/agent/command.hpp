// command: runs one external command (docker compose) for a task: no shell, in a directory the
// caller holds open, in a process group of its own, under a deadline, its output bounded.
//
// The child gets /dev/null as stdin, one pipe as stdout and stderr, no other descriptor of
// ours, default signal dispositions, and `dir_fd` as its working directory (fchdir in the
// child: the directory cannot be swapped between our check and its start). At the deadline,
// or when `cancel` becomes true, the whole process group is killed with SIGKILL; once the
// command exits, whatever it left in its group is killed too, so that nothing it started
// keeps running after the task ends. Blocking: call it from a worker thread. Thread-safe.
#pragma once

#include "agent/failure.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace taskd::agent {

struct CommandResult {
    int exit_code = -1;        // the exit status, or 128 + the signal that ended it
    bool timed_out = false;    // killed at the deadline
    bool cancelled = false;    // killed because `cancel` became true
    std::string output;        // the last `max_output_bytes` of stdout and stderr, as valid UTF-8
    std::uint64_t output_bytes = 0;  // everything it wrote
};

// Fails only when the command could not be started (not found, not executable, no pipe).
Outcome<CommandResult> run_command(const std::vector<std::string>& argv, int dir_fd,
                                   std::chrono::milliseconds timeout, std::size_t max_output_bytes,
                                   const std::atomic<bool>* cancel);

// `bytes` with every invalid UTF-8 sequence replaced by U+FFFD (JSON strings must be UTF-8,
// and the server refuses a result that is not). A sequence cut at the start is dropped.
std::string to_valid_utf8(std::string_view bytes);

}  // namespace taskd::agent
