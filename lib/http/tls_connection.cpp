// HTTPS connections: BasicConnection over a TLS stream (connection_impl.hpp).
#include "http/connection_impl.hpp"

namespace taskd::http {
template class BasicConnection<TlsStream>;
}  // namespace taskd::http
