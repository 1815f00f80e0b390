#define BOOST_TEST_MODULE taskd_abuse
#include <boost/test/unit_test.hpp>
