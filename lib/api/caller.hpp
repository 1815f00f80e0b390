// Who is calling: the admin (control plane) or an agent, from the Authorization header.
//
// authenticate() answers 401 for a missing, malformed or unknown bearer token; the permission
// checks answer 403 for valid credentials that may not use the endpoint. Both come before any
// validation of the request (API.md, "Errors": 401, 403, 422, 404, 409 in that order).
#pragma once

#include "api/context.hpp"
#include "http/message.hpp"
#include "model/agent.hpp"
#include "model/errc.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>

namespace taskd::api {

struct Caller {
    std::optional<model::Agent> agent;  // nullopt: the admin
    bool is_admin() const { return !agent.has_value(); }
};

// Authenticating as an agent marks that agent seen. Sets request.who for the access log.
//
// authenticate_now() answers without a coroutine whenever it can: for the admin and every
// refusal (the header settles them), and for an agent when the backend knows its token at once;
// nullopt when the backend must be awaited, and then authenticate() answers. Handlers call both
// in turn: a coroutine frame per request is a measurable part of the busiest requests.
backend::Now<Caller> authenticate_now(ApiContext& ctx, http::Request& request);
boost::asio::awaitable<model::Result<Caller>> authenticate(ApiContext& ctx, http::Request& request);

model::Result<void> require_admin(const Caller& caller);
model::Result<void> require_agent(const Caller& caller);

model::Error unauthorized(std::string detail);

}  // namespace taskd::api
