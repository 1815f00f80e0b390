// Executor: what the agent does with each task type (the original service's docstring, API.md).
//
//   FILE_WRITE    {path, content, mode?}  atomic replace; result {path, bytes_written, sha256}
//   ENV_UPDATE    {path, updates}         env_file rewrite, atomic; result {path, updated, added}
//   DOCKER_RELOAD {compose_dir}           `<compose command> up -d --remove-orphans` in that
//                                         directory; result {compose_dir, command, exit_code, output}
//   COMPOSITE     {sequence: [{task, payload}, ...]}  steps in order, stops at the first
//                                         failure; result {steps: [{task, status, result|error}]}
// Every path goes through Roots (confinement.hpp). Any other type fails with
// `unsupported task type "X"`. A payload of the wrong shape fails the task; nothing throws.
//
// run() blocks (file I/O, a child process): call it from a worker thread. One Executor may run
// many tasks at once; it holds no state of its own beyond its configuration.
#pragma once

#include "agent/confinement.hpp"
#include "agent/failure.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace taskd::agent {

// A command's output kept in a result: its last 64 KiB (the bound)...
inline constexpr std::size_t kMaxOutputBytes = 64 * 1024;
// ...and at most this much over all the steps of a COMPOSITE, so that a result stays well under
// the server's default 1 MiB body limit (a report the server refuses as too large is lost work).
inline constexpr std::size_t kMaxTotalOutputBytes = 512 * 1024;

struct ExecutorConfig {
    std::vector<std::string> compose_command{"docker", "compose"};
    std::chrono::milliseconds step_timeout{std::chrono::minutes{5}};
};

class Executor {
public:
    Executor(const Roots& roots, ExecutorConfig config) : roots_(roots), config_(std::move(config)) {}

    // The task's result, or why it failed. `cancel` (may be null) ends a running command early.
    Outcome<boost::json::object> run(std::string_view type, const boost::json::value& payload,
                                     const std::atomic<bool>* cancel = nullptr) const;

private:
    Outcome<boost::json::object> run_step(std::string_view type, const boost::json::value& payload,
                                          std::size_t max_output, const std::atomic<bool>* cancel) const;
    Outcome<boost::json::object> file_write(const boost::json::object& payload) const;
    Outcome<boost::json::object> env_update(const boost::json::object& payload) const;
    Outcome<boost::json::object> docker_reload(const boost::json::object& payload, std::size_t max_output,
                                               const std::atomic<bool>* cancel) const;
    Outcome<boost::json::object> composite(const boost::json::object& payload, const std::atomic<bool>* cancel) const;

    const Roots& roots_;
    ExecutorConfig config_;
};

// "0644" -> 0644; 3 or 4 octal digits, at most 0777 (no setuid, setgid or sticky bit).
Outcome<unsigned> parse_mode(std::string_view text);

}  // namespace taskd::agent
