#include "agent_process.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace taskd::test {
namespace {

int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int out_fd) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        const std::string entry(*e);
        const auto name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const auto& x : env) replaced |= x.substr(0, x.find('=')) == name;
        if (!replaced) env_strings.push_back(entry);
    }
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

int decode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

std::string agent_binary() { return TASKD_AGENT_BINARY; }

AgentProcess::~AgentProcess() {
    if (pid_ > 0) stop(SIGKILL);
    if (reader_.joinable()) reader_.join();
}

void AgentProcess::start(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    if (reader_.joinable()) reader_.join();
    {
        std::lock_guard lock(mutex_);
        log_.clear();
        eof_ = false;
    }
    std::vector<std::string> argv{agent_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = spawn(argv, env, fds[1]);
    ::close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });
}

void AgentProcess::read_output(int fd) {
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

bool AgentProcess::wait_for_log(const std::string& text, std::chrono::seconds timeout, std::size_t count) {
    auto seen = [&] {
        std::size_t n = 0;
        for (auto at = log_.find(text); at != std::string::npos; at = log_.find(text, at + 1)) ++n;
        return n >= count;
    };
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return seen() || eof_; }) && seen();
}

std::string AgentProcess::log() const {
    std::lock_guard lock(mutex_);
    return log_;
}

void AgentProcess::signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
}

int AgentProcess::stop(int sig, std::chrono::seconds bound) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    bool exited = true;
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (fd >= 0) {
        pollfd p{fd, POLLIN, 0};
        int n = 0;
        do {
            n = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(bound).count()));
        } while (n < 0 && errno == EINTR);
        ::close(fd);
        exited = n > 0;
    }
    if (!exited) ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
    return exited ? decode(status) : -1;
}

int AgentProcess::run_to_exit(const std::vector<std::string>& args, std::string& output) {
    AgentProcess p;
    p.start(args);
    const int status = p.stop(0, std::chrono::seconds{60});  // signal 0: only wait, bounded
    output = p.log();
    return status;
}

}  // namespace taskd::test
