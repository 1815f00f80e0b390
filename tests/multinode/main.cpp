#define BOOST_TEST_MODULE taskd_multinode
#include <boost/test/unit_test.hpp>
