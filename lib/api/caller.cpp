#include "api/caller.hpp"

#include "auth/token.hpp"

#include <variant>

namespace taskd::api {
namespace {

model::Result<Caller> admin(http::Request& request) {
    request.who = "admin";
    return Caller{};
}

// The answer once the backend has looked the agent's token up.
model::Result<Caller> agent_or_refusal(http::Request& request, model::Result<std::optional<model::Agent>> agent) {
    if (!agent) return agent.error();
    if (!*agent) return unauthorized("Invalid token");
    request.who = "agent:";
    model::append_uuid(request.who, (*agent)->id);
    return Caller{std::move(*agent)};
}

// What the header settles by itself: the admin or a refusal; otherwise the hash of the token,
// which may be an agent's.
std::variant<model::Result<Caller>, model::TokenHash> read_header(ApiContext& ctx, http::Request& request) {
    if (request.authorization.empty()) {
        // The original service's admin side was open; --insecure-no-admin-auth keeps it so.
        if (!ctx.config.admin_auth) return admin(request);
        return unauthorized("Missing Authorization header");
    }
    const auto token = auth::parse_bearer(request.authorization);
    if (!token) return unauthorized("Invalid Authorization header");
    auto hash = auth::hash_token(*token);
    if (auth::same_hash(hash, ctx.admin_token_hash)) return admin(request);
    return hash;
}

}  // namespace

model::Error unauthorized(std::string detail) { return model::make_error(model::Errc::unauthorized, std::move(detail)); }

backend::Now<Caller> authenticate_now(ApiContext& ctx, http::Request& request) {
    auto header = read_header(ctx, request);
    if (auto* settled = std::get_if<model::Result<Caller>>(&header)) return std::move(*settled);
    auto agent = ctx.backend.authenticate_agent_now(std::get<model::TokenHash>(header));
    if (!agent) return std::nullopt;
    return agent_or_refusal(request, std::move(*agent));
}

// Reads the header again (a hash of a few dozen bytes): it is called only when the backend
// must be awaited, a round trip that costs far more.
boost::asio::awaitable<model::Result<Caller>> authenticate(ApiContext& ctx, http::Request& request) {
    auto header = read_header(ctx, request);
    if (auto* settled = std::get_if<model::Result<Caller>>(&header)) co_return std::move(*settled);
    co_return agent_or_refusal(request, co_await ctx.backend.authenticate_agent(std::get<model::TokenHash>(header)));
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
