// Plain HTTP connections: BasicConnection over a TCP socket (connection_impl.hpp).
#include "http/connection_impl.hpp"

namespace taskd::http {
template class BasicConnection<boost::asio::ip::tcp::socket>;
}  // namespace taskd::http
