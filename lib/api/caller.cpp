#include "api/caller.hpp"

#include "auth/token.hpp"

namespace taskd::api {

model::Error unauthorized(std::string detail) { return model::make_error(model::Errc::unauthorized, std::move(detail)); }

boost::asio::awaitable<model::Result<Caller>> authenticate(ApiContext& ctx, http::Request& request) {
    if (request.authorization.empty()) {
        // The original service's admin side was open; --insecure-no-admin-auth keeps it so.
        if (!ctx.config.admin_auth) {
            request.who = "admin";
            co_return Caller{};
        }
        co_return unauthorized("Missing Authorization header");
    }
    const auto token = auth::parse_bearer(request.authorization);
    if (!token) co_return unauthorized("Invalid Authorization header");
    const auto hash = auth::hash_token(*token);
    if (auth::same_hash(hash, ctx.admin_token_hash)) {
        request.who = "admin";
        co_return Caller{};
    }
    auto agent = co_await ctx.backend.authenticate_agent(hash);
    if (!agent) co_return agent.error();
    if (*agent) {
        request.who = "agent:";
        model::append_uuid(request.who, (*agent)->id);
        co_return Caller{std::move(*agent)};
    }
    co_return unauthorized("Invalid token");
}

model::Result<void> require_admin(const Caller& caller) {
    if (caller.is_admin()) return {};
    return model::make_error(model::Errc::forbidden, "This endpoint requires the admin token");
}

model::Result<void> require_agent(const Caller& caller) {
    if (!caller.is_admin()) return {};
    return model::make_error(model::Errc::forbidden, "This endpoint requires an agent token");
}

}  // namespace taskd::api
