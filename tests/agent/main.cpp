#define BOOST_TEST_MODULE taskd_agent
#include <boost/test/unit_test.hpp>
