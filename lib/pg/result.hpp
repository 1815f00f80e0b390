// pg::Rows, pg::Error, pg::Result: what a PostgreSQL command answers, as values.
//
// Rows owns one PGresult (libpq's result of one command) and frees it on destruction; the
// string_views it hands out point into that result and live exactly as long as the Rows.
// Values are in PostgreSQL's text format (we send and receive text only), so the caller parses
// numbers and timestamps it asked for.
//
// Error is a failure the caller must handle: the server's SQLSTATE and message for an SQL error
// (the connection stays usable), or an empty SQLSTATE for a client-side failure (unreachable,
// connection lost, timed out, pool exhausted). retryable() says whether a later attempt may
// succeed, which is what a caller maps to 503.
//
// Thread-safety: a Rows is a value; distinct objects may be used from distinct threads, and
// const access to one object from several threads is safe (PGresult is immutable).
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct pg_result;  // libpq's PGresult, kept out of our headers

namespace taskd::pg {

struct Error {
    std::string sqlstate;          // five characters from the server; empty for client-side failures
    std::string message;           // one line, for logs and /readyz
    bool connection_lost = false;  // the connection is unusable now (broken, or never opened)

    // The command may succeed if tried again later: the database was out of reach, the pool had
    // no connection in time, or the server gave up for a transient reason (serialization
    // failure, deadlock, shutdown, too many connections).
    bool retryable() const;
    bool unique_violation() const { return sqlstate == "23505"; }
};

template <class T>
using Result = boost::system::result<T, Error>;

// boost::system::result calls this when value() is used on an error: a bug in the caller.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

class Rows {
public:
    Rows() = default;
    explicit Rows(pg_result* result) noexcept : result_(result) {}
    ~Rows();
    Rows(Rows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
    Rows& operator=(Rows&& other) noexcept;
    Rows(const Rows&) = delete;
    Rows& operator=(const Rows&) = delete;

    std::size_t size() const;     // rows
    std::size_t columns() const;
    bool empty() const { return size() == 0; }
    // A column's value in text format; empty for NULL (tell them apart with is_null or get).
    std::string_view text(std::size_t row, std::size_t column) const;
    bool is_null(std::size_t row, std::size_t column) const;
    std::optional<std::string_view> get(std::size_t row, std::size_t column) const;
    // The column's index by name, or nullopt.
    std::optional<std::size_t> column(std::string_view name) const;
    // Rows an INSERT/UPDATE/DELETE/SELECT touched (PQcmdTuples); 0 for other commands.
    std::uint64_t affected() const;

private:
    pg_result* result_ = nullptr;
};

}  // namespace taskd::pg
