#include "server_process.hpp"

#include "test_store.hpp"

#include <algorithm>
#include <cerrno>
#include <poll.h>
#include <sys/syscall.h>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace taskd::test {
namespace {

// fork + exec of `argv` with stdout and stderr into `out_fd`.
int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int out_fd) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // An entry of `env` replaces the inherited variable of its name: with both, the child would
    // read the first (getenv), the inherited one.
    auto overridden = [&](std::string_view inherited) {
        return std::any_of(env.begin(), env.end(), [&](const std::string& e) {
            const auto name = e.find('=');
            return name != std::string::npos && inherited.substr(0, name + 1) == std::string_view(e).substr(0, name + 1);
        });
    };
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (!overridden(*e)) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(out_fd, STDERR_FILENO);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    return pid;
}

// Waits, without reaping, until `pid` exits or `bound` passes (pidfd: an event, not polling).
bool wait_for_exit(int pid, std::chrono::seconds bound) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return true;  // no pidfd: fall back to an unbounded waitpid
    pollfd p{fd, POLLIN, 0};
    int n = 0;
    do {
        n = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(bound).count()));
    } while (n < 0 && errno == EINTR);
    ::close(fd);
    return n > 0;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

std::string taskd_binary() { return TASKD_BINARY; }

ServerProcess::~ServerProcess() {
    if (pid_ > 0) kill();
    if (reader_.joinable()) reader_.join();
}

void ServerProcess::start(const std::filesystem::path& data_dir, std::vector<std::string> args,
                          std::vector<std::string> env) {
    if (reader_.joinable()) reader_.join();
    {
        std::lock_guard lock(mutex_);
        log_.clear();
        eof_ = false;
    }
    data_dir_ = data_dir;
    std::vector<std::string> argv{taskd_binary(), "--data-dir", data_dir.string()};
    if (std::find(args.begin(), args.end(), "--listen") == args.end()) {
        argv.emplace_back("--listen");
        argv.emplace_back("127.0.0.1:0");
    }
    argv.insert(argv.end(), args.begin(), args.end());
    if (std::find(args.begin(), args.end(), "--database-url") == args.end()) {
        if (auto url = database_url_for(data_dir)) {
            argv.emplace_back("--database-url");
            argv.push_back(*url);
        }
    }

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = spawn(argv, env, fds[1]);
    ::close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });

    const std::string marker = "listening on http";  // http:// or https://
    if (!wait_for_log(marker)) {
        const std::string text = log();
        kill();
        throw std::runtime_error("taskd did not start; its output:\n" + text);
    }
    // It serves only /healthz and /readyz until its state is recovered from disk.
    if (!wait_for_log("ready: ")) {
        const std::string text = log();
        kill();
        throw std::runtime_error("taskd did not become ready; its output:\n" + text);
    }
    std::lock_guard lock(mutex_);
    // "listening on http://127.0.0.1:PORT ..." or "https://[::1]:PORT ..."
    const auto at = log_.find("://", log_.find(marker)) + 3;
    const auto end = log_.find_first_of(" \n", at);
    const std::string address = log_.substr(at, end - at);
    const auto colon = address.rfind(':');
    host_ = address.substr(0, colon);
    if (host_.size() >= 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
    port_ = static_cast<unsigned short>(std::stoi(address.substr(colon + 1)));
}

void ServerProcess::read_output(int fd) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(mutex_);
        if (n <= 0) {
            eof_ = true;
            changed_.notify_all();
            break;
        }
        log_.append(buf, static_cast<std::size_t>(n));
        changed_.notify_all();
    }
    ::close(fd);
}

bool ServerProcess::wait_for_log(const std::string& text, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return log_.find(text) != std::string::npos || eof_; }) &&
           log_.find(text) != std::string::npos;
}

std::string ServerProcess::log() const {
    std::lock_guard lock(mutex_);
    return log_;
}

std::string ServerProcess::admin_token() const {
    std::ifstream in(data_dir_ / "admin.token");
    std::string token;
    in >> token;
    return token;
}

int ServerProcess::wait_exit() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
    return decode_status(status);
}

bool ServerProcess::wait_exit_for(std::chrono::seconds bound) { return wait_for_exit(pid_, bound); }

void ServerProcess::signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
}

int ServerProcess::stop(int sig, std::chrono::seconds bound) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    if (!wait_exit_for(bound)) {
        kill();
        return -1;
    }
    return wait_exit();
}

void ServerProcess::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    wait_exit();
}

int ServerProcess::run_to_exit(const std::vector<std::string>& args, std::string* output, std::vector<std::string> env,
                               std::chrono::seconds bound) {
    std::vector<std::string> argv{taskd_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const int pid = spawn(argv, env, fds[1]);
    ::close(fds[1]);
    // Read until the child closes its end (it exits), each read bounded by `bound`.
    bool exited = true;
    std::string text;
    char buf[4096];
    for (;;) {
        pollfd p{fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(bound).count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            exited = false;
            ::kill(pid, SIGKILL);
            break;
        }
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (output) *output = text;
    return exited ? decode_status(status) : -1;
}

}  // namespace taskd::test
