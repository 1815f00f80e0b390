// Decoding a request's target into the path and query handlers see.
#pragma once

#include "http/message.hpp"

namespace taskd::http {

// Fills the request's path and query from its target; false when the target is not a valid
// origin-form URL. The strings are the connection's, reused: they keep their capacity from one
// request to the next, so a request's path costs no allocation.
bool decode_target(Request& out);

}  // namespace taskd::http
