#define BOOST_TEST_MODULE taskd_stress
#include <boost/test/unit_test.hpp>
