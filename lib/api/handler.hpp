// Glue between handler functions and the router.
//
// A handler is a coroutine (ApiContext&, Request&) -> Result<Response>: it returns either its
// answer or a model::Error, which error_response() turns into the answer. Until recovery from
// disk is done every API route answers 503 (the operations routes do not wait).
#pragma once

#include "api/context.hpp"
#include "api/error_response.hpp"
#include "http/message.hpp"
#include "model/errc.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>

namespace taskd::api {

using HandlerResult = model::Result<http::Response>;
using HandlerFn = boost::asio::awaitable<HandlerResult> (*)(ApiContext&, http::Request&);

enum class WhenRecovering { refuse, serve };

http::Handler make_handler(ApiContext& ctx, HandlerFn fn, WhenRecovering when_recovering = WhenRecovering::refuse);

inline http::Response json_response(unsigned status, std::string body) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

}  // namespace taskd::api
