// Which store the integration suite runs against, so that one suite checks the contract on both
// (issue 20): the embedded store by default; PostgreSQL when TASKD_TEST_STORE=postgres (ctest
// registers the suite a second time so). Then every ServerProcess started gets --database-url
// of a database of its own, made on first use of its data directory (so a restart with the same
// directory finds the same database), on one private PostgresCluster started on first need.
//
// Tests that are about the embedded store itself (its journal, its data directory, its disk)
// carry the Boost.Test label `embedded` and are left out of the PostgreSQL run.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace taskd::test {

bool testing_postgres();

// The database URL for a server with `data_dir`, when testing PostgreSQL; else nullopt.
std::optional<std::string> database_url_for(const std::filesystem::path& data_dir);

// Testing PostgreSQL where it is not installed: prints why and exits with ctest's skip code 77.
void skip_unless_store_available();

}  // namespace taskd::test
