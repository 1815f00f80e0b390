// Config: everything taskd-agent is told at start, with its defaults. Filled by options.cpp
// from flags, TASKD_AGENT_* environment variables and --config FILE; read by agent.cpp.
#pragma once

#include "agent/executor.hpp"
#include "util/log.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace taskd::agent {

struct Config {
    // --server: http://HOST[:PORT][/PREFIX] or https://...
    std::string server_url;
    bool tls = false;  // https
    std::string host;
    unsigned short port = 80;
    std::string base_path;  // "" or "/prefix" (no trailing slash)
    // --tls-ca: the CA certificates (PEM) the server's must chain to, instead of the system's.
    std::string tls_ca_file;

    std::string agent_id;
    std::string token;  // read from --token-file
    std::vector<std::string> allow_roots;
    // Tasks run at once (each claim, execution and report is one slot).
    unsigned concurrency = 1;
    // GET /tasks/next?wait=: how long the server may hold a claim (API.md allows 0-60 s).
    std::chrono::milliseconds poll_wait{std::chrono::seconds{30}};
    // A bound for one request other than the long poll (which gets poll_wait on top).
    std::chrono::milliseconds request_timeout{std::chrono::seconds{30}};
    // Retries while the server is away wait 100 ms, 200 ms, ... up to this, with jitter.
    std::chrono::milliseconds backoff_max{std::chrono::seconds{30}};
    // After SIGTERM: running tasks get this long to finish (then their commands are killed and
    // they are reported failed), and their reports as long again to get through.
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds{30}};
    ExecutorConfig executor;
    util::LogLevel log_level = util::LogLevel::info;
    // Tests only: before a task's path is resolved, log and wait until this FIFO is opened for
    // writing and closed again (a test swaps a symlink in meanwhile).
    std::string debug_pause_fifo;
};

}  // namespace taskd::agent
