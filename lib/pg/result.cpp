#include "pg/result.hpp"

#include <libpq-fe.h>

#include <cassert>
#include <charconv>
#include <stdexcept>

namespace taskd::pg {

bool Error::retryable() const {
    if (sqlstate.empty()) return true;  // ours: unreachable, lost, timed out, pool exhausted
    // Class 08 connection exception, 53 insufficient resources, 57P0x operator intervention
    // (shutdown, crash of another backend), 40001/40P01 serialization failure and deadlock.
    return sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57P") ||
           sqlstate == "40001" || sqlstate == "40P01";
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
    throw std::logic_error("taskd: value() of a failed pg::Result: " + e.message);
}

Rows::~Rows() {
    if (result_) PQclear(result_);
}

Rows& Rows::operator=(Rows&& other) noexcept {
    if (this != &other) {
        if (result_) PQclear(result_);
        result_ = other.result_;
        other.result_ = nullptr;
    }
    return *this;
}

std::size_t Rows::size() const { return result_ ? static_cast<std::size_t>(PQntuples(result_)) : 0; }

std::size_t Rows::columns() const { return result_ ? static_cast<std::size_t>(PQnfields(result_)) : 0; }

std::string_view Rows::text(std::size_t row, std::size_t column) const {
    assert(row < size() && column < columns());
    const int r = static_cast<int>(row);
    const int c = static_cast<int>(column);
    return {PQgetvalue(result_, r, c), static_cast<std::size_t>(PQgetlength(result_, r, c))};
}

bool Rows::is_null(std::size_t row, std::size_t column) const {
    assert(row < size() && column < columns());
    return PQgetisnull(result_, static_cast<int>(row), static_cast<int>(column)) == 1;
}

std::optional<std::string_view> Rows::get(std::size_t row, std::size_t column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
}

std::optional<std::size_t> Rows::column(std::string_view name) const {
    if (!result_) return std::nullopt;
    // PQfnumber would fold unquoted names to lower case and needs a C string; compare exactly.
    for (int c = 0, n = PQnfields(result_); c < n; ++c) {
        if (name == PQfname(result_, c)) return static_cast<std::size_t>(c);
    }
    return std::nullopt;
}

std::uint64_t Rows::affected() const {
    if (!result_) return 0;
    const std::string_view s = PQcmdTuples(result_);
    std::uint64_t n = 0;
    std::from_chars(s.data(), s.data() + s.size(), n);  // "" for commands without a count: 0
    return n;
}

}  // namespace taskd::pg
