// Handlers of /agents (API.md, "Agents"). Every one of them is the admin's.
#include "api/caller.hpp"
#include "api/codec.hpp"
#include "api/handler.hpp"
#include "api/json_body.hpp"
#include "api/routes.hpp"
#include "auth/token.hpp"

#include <boost/json/monotonic_resource.hpp>

namespace taskd::api {
namespace {

namespace net = boost::asio;
using http::Method;
using http::Request;
using model::FieldErrors;

net::awaitable<model::Result<void>> admin_only(ApiContext& ctx, Request& r) {
    auto authenticated = authenticate_now(ctx, r);
    if (!authenticated) authenticated = co_await authenticate(ctx, r);
    if (!*authenticated) co_return authenticated->error();
    const Caller& caller = **authenticated;
    co_return require_admin(caller);
}

model::Result<model::Uuid> path_agent_id(const Request& r) {
    if (auto id = model::parse_uuid(r.path_params.at(0))) return *id;
    return model::validation_error({invalid_uuid({"path", "agent_id"})});
}

model::Error agent_not_found(const model::Uuid& id) {
    return model::make_error(model::Errc::not_found, "Agent " + model::to_string(id) + " not found");
}

net::awaitable<HandlerResult> register_agent(ApiContext& ctx, Request& r) {
    if (auto ok = co_await admin_only(ctx, r); !ok) co_return ok.error();
    boost::json::monotonic_resource body_memory;
    auto body = parse_json_body(r.body, ctx.config.max_json_depth, &body_memory);
    if (!body) co_return body.error();
    FieldErrors errors;
    NewAgent input = decode_new_agent(*body, errors);
    if (!errors.empty()) co_return model::validation_error(std::move(errors));
    // The token is shown in this answer only; the store keeps its hash.
    const std::string token = auth::generate_token();
    auto registered = co_await ctx.backend.register_agent(std::move(input.name), input.tenant_id, auth::hash_token(token));
    if (!registered) co_return registered.error();
    std::string out;
    append_agent(out, *registered, token);
    co_return json_response(201, std::move(out));
}

net::awaitable<HandlerResult> list_agents(ApiContext& ctx, Request& r) {
    if (auto ok = co_await admin_only(ctx, r); !ok) co_return ok.error();
    auto agents = co_await ctx.backend.list_agents();
    if (!agents) co_return agents.error();
    std::string out = "[";
    for (const model::Agent& agent : *agents) {
        if (out.size() > 1) out += ',';
        append_agent(out, agent);
    }
    out += ']';
    co_return json_response(200, std::move(out));
}

net::awaitable<HandlerResult> get_agent(ApiContext& ctx, Request& r) {
    if (auto ok = co_await admin_only(ctx, r); !ok) co_return ok.error();
    auto id = path_agent_id(r);
    if (!id) co_return id.error();
    auto agent = co_await ctx.backend.find_agent(*id);
    if (!agent) co_return agent.error();
    if (!*agent) co_return agent_not_found(*id);
    std::string out;
    append_agent(out, **agent);
    co_return json_response(200, std::move(out));
}

net::awaitable<HandlerResult> delete_agent(ApiContext& ctx, Request& r) {
    if (auto ok = co_await admin_only(ctx, r); !ok) co_return ok.error();
    auto id = path_agent_id(r);
    if (!id) co_return id.error();
    auto deleted = co_await ctx.backend.delete_agent(*id);
    ctx.waiters.wake_agent(*id);  // its waiting long polls answer 401 now, not at their deadline
    if (!deleted) co_return deleted.error();
    co_return json_response(204, {});
}

}  // namespace

void add_agent_routes(http::Router& router, ApiContext& ctx) {
    for (const char* path : {"/agents", "/agents/"}) {
        router.add(Method::get, path, make_handler(ctx, list_agents));
        router.add(Method::post, path, make_handler(ctx, register_agent));
    }
    router.add(Method::get, "/agents/{agent_id}", make_handler(ctx, get_agent));
    router.add(Method::delete_, "/agents/{agent_id}", make_handler(ctx, delete_agent));
}

}  // namespace taskd::api
