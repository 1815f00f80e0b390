// Agent: the loop of taskd-agent. Claims tasks by long poll, runs them on worker threads,
// heartbeats while they run, reports each result until the server takes it.
//
// One io_context thread does all the HTTP (one keep-alive connection per slot, `--concurrency`
// slots); a thread pool of the same size runs the executors, which block. A slot is a
// coroutine: claim (GET /tasks/next?wait=), execute (posted to the pool) while sending
// PATCH {"status":"running"} every third of the task's lease, then PATCH completed/failed.
//   - The server away (connection refused, reset, timeout, 5xx): retry after Backoff; a
//     finished task's report is retried until the server answers it, never dropped while the
//     agent runs. A 409 (lease lost: the task was re-queued or taken by another agent) is
//     logged and the slot moves on; so is a 4xx that no retry can change.
//   - SIGTERM/SIGINT: stop claiming (the long polls are cut), let running tasks finish within
//     --shutdown-timeout (then their commands are killed and they are reported failed),
//     give their reports as long again, exit 0 (1 if a report could not be delivered).
// run() owns every thread it uses and returns once all slots have stopped.
#pragma once

#include "agent/config.hpp"

namespace taskd::agent {

// Runs until SIGTERM/SIGINT; returns the process exit status (2 when a root cannot be opened).
int run(const Config& config);

}  // namespace taskd::agent
