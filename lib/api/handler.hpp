// Glue between handler functions and the router.
//
// A handler is a function (ApiContext&, Request&) -> Result<Response>: it returns either its
// answer or a model::Error, which error_response() turns into the answer. The wrapper makes it
// the coroutine the router expects.
#pragma once

#include "api/context.hpp"
#include "api/error_response.hpp"
#include "http/message.hpp"
#include "model/errc.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace taskd::api {

using HandlerResult = model::Result<http::Response>;
using HandlerFn = HandlerResult (*)(ApiContext&, http::Request&);

inline http::Handler make_handler(ApiContext& ctx, HandlerFn fn) {
    return [&ctx, fn](http::Request& request) -> boost::asio::awaitable<http::Response> {
        HandlerResult result = fn(ctx, request);
        co_return result ? std::move(*result) : error_response(result.error());
    };
}

inline http::Response json_response(unsigned status, std::string body) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

}  // namespace taskd::api
