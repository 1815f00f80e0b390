#include "agent/command.hpp"

#include "agent/unique_fd.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace taskd::agent {
namespace {

using Clock = std::chrono::steady_clock;

// How often a running command looks at `cancel`: the delay of a shutdown's kill, nothing else.
constexpr auto kCancelCheck = std::chrono::milliseconds{100};
// After the command exits, how long a process that escaped its group may hold the pipe open
// before we stop reading it.
constexpr auto kDrainBound = std::chrono::seconds{2};

// Keeps the last `limit` bytes of a stream, counting all of them.
class Tail {
public:
    explicit Tail(std::size_t limit) : limit_(limit) {}
    void append(const char* data, std::size_t n) {
        total_ += n;
        buffer_.append(data, n);
        // Trim in batches, so that a chatty command costs O(n), not O(n * limit).
        if (buffer_.size() > 2 * limit_ + 4096) buffer_.erase(0, buffer_.size() - limit_);
    }
    std::string take() {
        if (buffer_.size() > limit_) buffer_.erase(0, buffer_.size() - limit_);
        return std::move(buffer_);
    }
    std::uint64_t total() const { return total_; }

private:
    std::size_t limit_;
    std::string buffer_;
    std::uint64_t total_ = 0;
};

int decode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Reads what is available; false at EOF or error.
bool read_some(int fd, Tail& tail) {
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            tail.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        return false;
    }
}

}  // namespace

std::string to_valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    auto cont = [&](std::size_t at) { return at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80; };
    while (i < s.size() && i < 3 && cont(i)) ++i;  // the tail of a character cut off at the start
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        if (c < 0x80) n = 1;
        else if (c >= 0xC2 && c <= 0xDF) n = cont(i + 1) ? 2 : 0;
        else if (c >= 0xE0 && c <= 0xEF) {
            const auto c1 = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
            const bool ok1 = c == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF) : c == 0xED ? (c1 >= 0x80 && c1 <= 0x9F) : cont(i + 1);
            n = ok1 && cont(i + 2) ? 3 : 0;
        } else if (c >= 0xF0 && c <= 0xF4) {
            const auto c1 = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
            const bool ok1 = c == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF) : c == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F) : cont(i + 1);
            n = ok1 && cont(i + 2) && cont(i + 3) ? 4 : 0;
        }
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

Outcome<CommandResult> run_command(const std::vector<std::string>& argv, int dir_fd,
                                   std::chrono::milliseconds timeout, std::size_t max_output_bytes,
                                   const std::atomic<bool>* cancel) {
    if (argv.empty()) return fail("no command to run");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(std::string("cannot create a pipe: ") + std::strerror(errno));
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
    posix_spawn_file_actions_addfchdir_np(&actions, dir_fd);
    // Nothing of ours leaks into the command: not the server connections, not the roots. (After
    // the fchdir, which needs `dir_fd`.)
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout kills it and its children
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return fail("cannot run " + argv[0] + ": " + std::strerror(rc));
    write_end.reset();
    ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);

    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    CommandResult result;
    Tail tail(max_output_bytes);
    const auto deadline = Clock::now() + timeout;
    bool exited = false;
    bool pipe_open = true;
    int status = 0;
    auto kill_group = [&] { ::kill(-pid, SIGKILL); };
    auto try_reap = [&] {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) exited = true;
    };

    while (!exited) {
        const auto now = Clock::now();
        if (now >= deadline || (cancel && cancel->load())) {
            (now >= deadline ? result.timed_out : result.cancelled) = true;
            kill_group();
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            exited = true;
            break;
        }
        const auto wait = std::min<Clock::duration>(deadline - now, kCancelCheck);
        pollfd p[2] = {{pipe_open ? read_end.get() : -1, POLLIN, 0}, {pidfd ? pidfd.get() : -1, POLLIN, 0}};
        const int n = ::poll(p, 2, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
        if (n < 0 && errno != EINTR) break;
        if (pipe_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) pipe_open = read_some(read_end.get(), tail);
        try_reap();  // pidfd readable, or no pidfd (then this is a poll every kCancelCheck)
    }
    if (!exited) {  // poll itself failed: do not leave the child behind
        kill_group();
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    // Whatever the command left in its group goes with it.
    kill_group();
    const auto drain_until = std::min(Clock::now() + kDrainBound, std::max(deadline, Clock::now()));
    while (pipe_open) {
        const auto left = drain_until - Clock::now();
        if (left <= Clock::duration::zero()) break;
        pollfd p{read_end.get(), POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pipe_open = read_some(read_end.get(), tail);
    }
    result.exit_code = decode(status);
    result.output_bytes = tail.total();
    result.output = to_valid_utf8(tail.take());
    return result;
}

}  // namespace taskd::agent
