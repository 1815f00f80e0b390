// The PostgreSQL schema of taskd, created and migrated when a node starts.
//
// A table taskd_schema holds the version the database is at. Starting nodes take an advisory
// lock while they look, so that two nodes starting at once migrate once. A database at a newer
// version than this binary knows is refused: an older binary would misread it.
#pragma once

#include "pg/connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace taskd::backend {

// The version this binary writes and reads.
inline constexpr int kSchemaVersion = 3;

// The SQL that brings the schema from version `version - 1` to `version` (1..kSchemaVersion):
// for tests that make a database as an older taskd left it.
std::string_view schema_step(int version);

struct SchemaOutcome {
    int found = 0;     // the version the database was at (0: empty)
    int now = 0;       // the version it is at now
};

// Brings the database to kSchemaVersion. Errors: the database's, or a refusal (a newer schema)
// whose message says what to do; `newer` tells the two apart.
struct SchemaError {
    std::string message;
    bool newer = false;  // the database is newer than this binary: do not retry
};
boost::asio::awaitable<boost::system::result<SchemaOutcome, SchemaError>> migrate(pg::Connection& connection);

}  // namespace taskd::backend
