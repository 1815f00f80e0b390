// PostgresCluster: a private PostgreSQL server for a test or a benchmark, in a temporary
// directory, on a free loopback port, with its Unix socket in that directory too, so that it
// never meets the machine's own cluster.
//
// The constructor runs initdb (trust authentication, superuser `postgres`, UTF8) and
// `pg_ctl start`; as root it runs them as the `postgres` user (PostgreSQL refuses to run as
// root) and gives that user the directory. The destructor stops the server (`-m immediate`:
// nothing in it is worth keeping) and removes the directory. stop() and start() let a test take
// the database away under load and bring it back on the same port with the same data.
//
// Every wait is bounded (pg_ctl -w -t, and a bound on each command); a failure throws with the
// command's output. Thread-safety: none; one test thread drives it (the server is a separate
// process, so clients on other threads are unaffected).
#pragma once

#include "temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace taskd::test {

class PostgresCluster {
public:
    // The directory holding initdb, pg_ctl and postgres: $TASKD_PG_BINDIR, else the one on
    // PATH, else Debian's newest /usr/lib/postgresql/<version>/bin; nullopt when there is none
    // (PostgreSQL not installed: callers skip with a visible message).
    static std::optional<std::filesystem::path> find_binaries();

    struct Options {
        // Room for many pools and nodes at once; PostgreSQL's default is 100.
        int max_connections = 200;
        std::vector<std::string> settings;  // more "name=value" server settings
    };

    PostgresCluster();  // default Options
    explicit PostgresCluster(Options options);
    ~PostgresCluster();
    PostgresCluster(const PostgresCluster&) = delete;
    PostgresCluster& operator=(const PostgresCluster&) = delete;

    // postgresql://postgres@127.0.0.1:<port>/<db>
    std::string url(const std::string& db = "postgres") const;
    unsigned short port() const { return port_; }
    const std::filesystem::path& directory() const { return dir_.path(); }

    void create_database(const std::string& name);
    // Stops the server; `mode` is pg_ctl's: "fast" ends sessions cleanly, "immediate" like a crash.
    void stop(const std::string& mode = "fast");
    void start();  // again, on the same port and data
    void restart(const std::string& mode = "fast") {
        stop(mode);
        start();
    }
    bool running() const { return running_; }
    std::string server_log() const;

private:
    // Runs `argv`, as `postgres` when we are root and `as_postgres`; throws unless it exits 0.
    void run(std::vector<std::string> argv, bool as_postgres = true,
             std::chrono::seconds bound = std::chrono::seconds{120}) const;

    Options options_;
    std::filesystem::path bin_;
    TempDir dir_;
    std::filesystem::path data_;
    std::filesystem::path socket_dir_;
    unsigned short port_ = 0;
    bool running_ = false;
};

}  // namespace taskd::test
