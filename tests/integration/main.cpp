#define BOOST_TEST_MODULE taskd_integration
#include <boost/test/unit_test.hpp>

#include "test_store.hpp"

// Run against PostgreSQL (TASKD_TEST_STORE=postgres) where it is not installed: skipped, saying so.
struct StoreAvailable {
    StoreAvailable() { taskd::test::skip_unless_store_available(); }
};
BOOST_TEST_GLOBAL_FIXTURE(StoreAvailable);
