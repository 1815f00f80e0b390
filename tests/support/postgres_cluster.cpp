#include "postgres_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace taskd::test {
namespace {

namespace fs = std::filesystem;

bool has_binaries(const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / "initdb", ec) && fs::exists(dir / "pg_ctl", ec) && fs::exists(dir / "postgres", ec);
}

// A port nobody listens on now. Another process may take it before the server binds it; start()
// then fails and the constructor tries another.
unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

std::string tail(const fs::path& file, std::size_t bytes = 4000) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

}  // namespace

std::optional<fs::path> PostgresCluster::find_binaries() {
    if (const char* dir = std::getenv("TASKD_PG_BINDIR"); dir && *dir) {
        if (has_binaries(dir)) return fs::path(dir);
        return std::nullopt;
    }
    if (const char* path = std::getenv("PATH")) {
        std::string_view rest = path;
        while (!rest.empty()) {
            const auto colon = rest.find(':');
            const fs::path dir(std::string(rest.substr(0, colon)));
            if (!dir.empty() && has_binaries(dir)) return dir;
            rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        }
    }
    // Debian keeps the server's binaries off PATH, one directory per major version.
    std::optional<fs::path> best;
    int best_version = -1;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        const std::string name = entry.path().filename().string();
        int version = 0;
        if (std::from_chars(name.data(), name.data() + name.size(), version).ec != std::errc{}) continue;
        if (version > best_version && has_binaries(entry.path() / "bin")) {
            best_version = version;
            best = entry.path() / "bin";
        }
    }
    return best;
}

PostgresCluster::PostgresCluster() : PostgresCluster(Options{}) {}

PostgresCluster::PostgresCluster(Options options) : options_(std::move(options)) {
    auto bin = find_binaries();
    if (!bin) throw std::runtime_error("PostgreSQL is not installed (no initdb/pg_ctl found)");
    bin_ = *bin;
    data_ = dir_.path() / "data";
    socket_dir_ = dir_.path() / "socket";
    fs::create_directory(socket_dir_);
    if (::geteuid() == 0) {
        // PostgreSQL will not run as root: the directory becomes the postgres user's.
        const passwd* pw = ::getpwnam("postgres");
        if (!pw) throw std::runtime_error("running as root, but there is no postgres user to run PostgreSQL as");
        for (const fs::path& p : {dir_.path(), socket_dir_}) {
            if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + p.string());
        }
    }
    // --no-sync: the cluster is thrown away; the server itself keeps fsync on.
    run({(bin_ / "initdb").string(), "-D", data_.string(), "-A", "trust", "-U", "postgres", "-E", "UTF8",
         "--no-locale", "--no-sync"});
    for (int attempt = 1;; ++attempt) {
        port_ = free_port();
        try {
            start();
            return;
        } catch (const std::exception&) {
            if (attempt == 3) throw;  // three taken ports in a row is not a race any more
        }
    }
}

PostgresCluster::~PostgresCluster() {
    if (running_) {
        try {
            stop("immediate");
        } catch (const std::exception&) {
            // The directory goes anyway; a server left behind dies when its data vanishes.
        }
    }
}

std::string PostgresCluster::url(const std::string& db) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void PostgresCluster::start() {
    std::string settings = "-p " + std::to_string(port_) + " -k " + socket_dir_.string() +
                           " -c listen_addresses=127.0.0.1 -c max_connections=" +
                           std::to_string(options_.max_connections);
    for (const auto& s : options_.settings) settings += " -c " + s;
    run({(bin_ / "pg_ctl").string(), "-D", data_.string(), "-l", (dir_.path() / "server.log").string(), "-w", "-t",
         "60", "-o", settings, "start"});
    running_ = true;
}

void PostgresCluster::stop(const std::string& mode) {
    run({(bin_ / "pg_ctl").string(), "-D", data_.string(), "-m", mode, "-w", "-t", "60", "stop"});
    running_ = false;
}

void PostgresCluster::create_database(const std::string& name) {
    // createdb is a client: it needs no particular user, only the server's address.
    const fs::path createdb = bin_ / "createdb";
    run({fs::exists(createdb) ? createdb.string() : "/usr/bin/createdb", "-h", "127.0.0.1", "-p",
         std::to_string(port_), "-U", "postgres", name},
        false);
}

std::string PostgresCluster::server_log() const { return tail(dir_.path() / "server.log", 1 << 20); }

void PostgresCluster::run(std::vector<std::string> argv, bool as_postgres, std::chrono::seconds bound) const {
    if (as_postgres && ::geteuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    const fs::path output = dir_.path() / "command.log";
    const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) throw std::runtime_error("cannot open " + output.string());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) ::dup2(null, STDIN_FILENO);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(out);
    if (pid < 0) throw std::runtime_error("fork failed");
    // Waits for the exit as an event (pidfd), at most `bound`.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(bound).count()));
        ::close(pidfd);
        if (ready == 0) ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string command;
        for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
        throw std::runtime_error("command failed: " + command + "\n" + tail(output) + "\nserver log:\n" +
                                 tail(dir_.path() / "server.log"));
    }
}

}  // namespace taskd::test
