// pg::Connection: one PostgreSQL session on libpq, driven asynchronously through Asio.
//
// libpq runs in non-blocking mode; its socket is watched with a posix::stream_descriptor
// (async_wait for readable/writable), so no thread ever blocks on the database: connecting
// (PQconnectStartParams/PQconnectPoll), sending (PQsend*, PQflush until done) and receiving
// (PQconsumeInput, PQisBusy, PQgetResult) all suspend the calling coroutine instead. Host names
// are resolved by Asio's resolver before libpq sees them (libpq's own getaddrinfo blocks); only
// a name that comes from the PGHOST environment variable is still libpq's to resolve.
//
// Every value travels as a bound parameter in text format ($1, $2, ...): SQL is never built
// from values. A parameter is std::nullopt for NULL. Named prepared statements are remembered
// per connection, so execute(Statement) prepares on first use and reuses afterwards.
//
// Failures are values (pg::Result). An SQL error leaves the connection usable; a lost
// connection or a timeout marks it broken() for good (a pool then drops it). Every command is
// bounded by Options::query_timeout: past it the socket is shut down, which ends the pending
// wait, and the command fails with connection_lost (the server may or may not have run it).
//
// Ownership: libpq owns the socket. The stream_descriptor only borrows it and releases it
// before PQfinish, so the descriptor is closed exactly once, by libpq.
//
// Thread-safety: one coroutine at a time may use a Connection (a pool lease guarantees it); it
// may resume on any thread of the executor. cancel() must run on the executor that the
// coroutine using the connection runs on when that is a strand (the listener's case).
#pragma once

#include "pg/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;  // libpq's PGconn

namespace taskd::pg {

using Param = std::optional<std::string_view>;  // nullopt is SQL NULL
using Params = std::span<const Param>;

// A named statement, typically a constant: execute() prepares it on a connection's first use.
struct Statement {
    std::string_view name;
    std::string_view sql;
};

struct Notification {
    std::string channel;
    std::string payload;
    int backend_pid = 0;  // the sender's backend
};

struct ConnectionOptions {
    // libpq ignores connect_timeout in its asynchronous API; this bound is ours.
    std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
    // A bound on every command, from sending to its last result; zero for none. Long enough
    // for any statement we run; what it guards against is a database that stopped answering.
    std::chrono::milliseconds query_timeout{std::chrono::seconds{30}};
};

class Connection {
public:
    using Options = ConnectionOptions;

    // Connects with a libpq connection string or URL (postgresql://user@host:port/db?...).
    // Defaults that the string may override: application_name=taskd, client_encoding=UTF8,
    // TCP keepalives after 30 s idle (so a vanished peer is noticed by an idle connection),
    // gssencmode=disable.
    static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> open(boost::asio::any_io_executor executor,
                                                                            std::string conninfo,
                                                                            Options options = {});
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // One SQL command with parameters $1..$n (PQsendQueryParams: unnamed, planned each time).
    boost::asio::awaitable<Result<Rows>> query(std::string_view sql, Params params = {});
    // Several commands without parameters in one round trip (PQsendQuery; e.g. a schema
    // script). Answers the last command's rows.
    boost::asio::awaitable<Result<Rows>> script(std::string_view sql);
    boost::asio::awaitable<Result<void>> prepare(std::string_view name, std::string_view sql);
    // Runs a statement prepared on this connection.
    boost::asio::awaitable<Result<Rows>> execute(std::string_view name, Params params = {});
    // Prepares `statement` first if this connection has not yet.
    boost::asio::awaitable<Result<Rows>> execute(const Statement& statement, Params params = {});
    // Runs `steps` in one transaction, pipelined (libpq pipeline mode): BEGIN, each statement,
    // COMMIT go out together and cost one round trip. Unprepared statements are prepared in
    // the same pipeline. On the first error the server aborts the rest and rolls back; the
    // answer is that error. Otherwise the rows of each step, in order.
    struct Step {
        Statement statement;
        std::vector<Param> params;
    };
    boost::asio::awaitable<Result<std::vector<Rows>>> transaction(std::span<const Step> steps);

    // Waits until at least one notification (after LISTEN) has arrived and answers them. No
    // query_timeout here: waiting is the point. Fails when the connection is lost or cancel()ed.
    boost::asio::awaitable<Result<std::vector<Notification>>> notifications();
    // Ends a pending wait with an error (for shutdown). See the thread-safety note above.
    void cancel();

    // Without waiting: reads what the server sent to an idle connection and answers false if
    // the connection turned out lost (the server restarted, an administrator ended it).
    bool check_alive();
    bool broken() const { return broken_; }
    // Fit to lend again: not broken, not amid a command, not inside a transaction block.
    bool reusable() const;
    bool prepared(std::string_view name) const;
    // `name` quoted as an SQL identifier (for LISTEN, whose channel cannot be a parameter).
    std::string quote_identifier(std::string_view name) const;
    int backend_pid() const;
    const boost::asio::any_io_executor& executor() const { return executor_; }

private:
    struct Deadline;
    Connection(boost::asio::any_io_executor executor, pg_conn* conn, Options options);

    boost::asio::awaitable<Result<void>> wait(bool for_write);
    boost::asio::awaitable<Result<void>> flush();
    boost::asio::awaitable<Result<Rows>> collect();
    template <class Send>
    boost::asio::awaitable<Result<Rows>> run(Send send);
    Result<void> send_failed();
    Error lost(std::string_view context);
    void attach_socket();
    void arm(std::chrono::milliseconds bound);
    bool disarm();  // true if the deadline fired

    boost::asio::any_io_executor executor_;
    pg_conn* conn_;
    Options options_;
    boost::asio::posix::stream_descriptor socket_;
    boost::asio::steady_timer timer_;
    std::shared_ptr<Deadline> deadline_;
    std::set<std::string, std::less<>> prepared_;
    bool broken_ = false;
};

}  // namespace taskd::pg
