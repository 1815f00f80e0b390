#define BOOST_TEST_MODULE taskd_unit
#include <boost/test/unit_test.hpp>
