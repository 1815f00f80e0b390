#define BOOST_TEST_MODULE taskd_integration
#include <boost/test/unit_test.hpp>
