// The PostgreSQL suite (ctest -L postgres): lib/pg against a real, private PostgreSQL started
// by tests/support/postgres_cluster. Where PostgreSQL is not installed it says so and exits with
// ctest's skip code, so the skip is visible, never a silent pass.
#define BOOST_TEST_MODULE taskd_postgres
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include "postgres_cluster.hpp"

#include <iostream>

int main(int argc, char* argv[]) {
    if (!taskd::test::PostgresCluster::find_binaries()) {
        std::cout << "SKIPPED: PostgreSQL not installed (no initdb/pg_ctl on PATH, in /usr/lib/postgresql/*/bin "
                     "or $TASKD_PG_BINDIR); scripts/setup installs postgresql-15\n";
        return 77;
    }
    return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
