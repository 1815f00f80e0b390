// ServerProcess: the real taskd binary, started for a test on an ephemeral port.
//
// start() runs `taskd --listen 127.0.0.1:0 --data-dir <dir> <args...>` (no --listen of its own
// when `args` has one) and waits until the server logs the address it listens on (an event, not
// a sleep), then until it is ready (recovered from disk). Everything the server logs is kept
// for assertions. Every wait is bounded, so that a
// server that never answers fails a test instead of hanging it. The destructor kills a server
// still running.
#pragma once

#include <chrono>
#include <csignal>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace taskd::test {

// The taskd binary under test (compiled in by CMake).
std::string taskd_binary();

class ServerProcess {
public:
    ServerProcess() = default;
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    // Starts taskd with `data_dir` and `args`; throws if it does not report its address in time
    // or exits first. `env` entries ("NAME=value") are added to the child's environment.
    void start(const std::filesystem::path& data_dir, std::vector<std::string> args = {},
               std::vector<std::string> env = {});

    // Runs taskd to completion with exactly `args` (no --listen/--data-dir added); returns its
    // exit status, or -1 when it had to be killed after `bound`. For flag tests: --help, bad values.
    static int run_to_exit(const std::vector<std::string>& args, std::string* output = nullptr,
                           std::vector<std::string> env = {}, std::chrono::seconds bound = std::chrono::seconds{30});

    unsigned short port() const { return port_; }
    std::string host() const { return host_; }  // as logged: "127.0.0.1", "::1"
    int pid() const { return pid_; }
    std::string admin_token() const;  // <data-dir>/admin.token

    // Sends `sig` (SIGTERM by default) and waits for the exit; returns the exit status (or
    // 128 + signal), or -1 when the process was still running after `bound` and was killed.
    int stop(int sig = SIGTERM, std::chrono::seconds bound = std::chrono::seconds{30});
    void signal(int sig);
    // SIGKILL and wait.
    void kill();
    bool running() const { return pid_ > 0; }

    // Blocks until a log line containing `text` appears; false if the process ends first or
    // `timeout` passes (a bound on a wait for an event, not a pause).
    bool wait_for_log(const std::string& text, std::chrono::seconds timeout = std::chrono::seconds{30});
    std::string log() const;

private:
    int wait_exit();
    // Waits for the exit for at most `bound`; false if the process is still running.
    bool wait_exit_for(std::chrono::seconds bound);
    void read_output(int fd);

    int pid_ = -1;
    unsigned short port_ = 0;
    std::string host_;
    std::filesystem::path data_dir_;
    std::thread reader_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string log_;
    bool eof_ = false;
};

}  // namespace taskd::test
