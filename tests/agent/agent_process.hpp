// AgentProcess: the real taskd-agent binary, started for a test. Everything it logs is kept
// for assertions; every wait is bounded (a wait for an event, never a pause), and the
// destructor kills an agent still running.
#pragma once

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace taskd::test {

std::string agent_binary();

class AgentProcess {
public:
    AgentProcess() = default;
    ~AgentProcess();
    AgentProcess(const AgentProcess&) = delete;
    AgentProcess& operator=(const AgentProcess&) = delete;

    // Starts taskd-agent with `args`; `env` entries ("NAME=value") replace or add variables.
    void start(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
    // True once a log line containing `text` has appeared `count` times; false if the process
    // ends first or `timeout` passes.
    bool wait_for_log(const std::string& text, std::chrono::seconds timeout = std::chrono::seconds{60},
                      std::size_t count = 1);
    std::string log() const;
    // Sends `sig` and waits for the exit; the exit status (128 + signal when killed by one), or
    // -1 if it was still running after `bound` (then it is killed).
    int stop(int sig = SIGTERM, std::chrono::seconds bound = std::chrono::seconds{60});
    bool running() const { return pid_ > 0; }
    // Sends `sig` without waiting.
    void signal(int sig);

    // Runs taskd-agent to completion with `args`; its exit status and output.
    static int run_to_exit(const std::vector<std::string>& args, std::string& output);

private:
    void read_output(int fd);

    int pid_ = -1;
    std::thread reader_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string log_;
    bool eof_ = false;
};

}  // namespace taskd::test
