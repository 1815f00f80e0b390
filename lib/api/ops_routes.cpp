// Operations endpoints (API.md, "Operations"). Open: no credentials needed.
#include "api/handler.hpp"
#include "api/routes.hpp"

namespace taskd::api {
namespace {

namespace net = boost::asio;
using http::Method;
using http::Request;

// 200 while the process serves requests at all.
net::awaitable<HandlerResult> healthz(ApiContext&, Request&) { co_return json_response(200, R"({"status":"ok"})"); }

// 200 once the state is recovered from disk and the journal takes changes; 503 before, and
// after a journal failure (until a restart), saying why.
net::awaitable<HandlerResult> readyz(ApiContext& ctx, Request&) {
    if (!ctx.ready.load()) co_return model::make_error(model::Errc::unavailable, "Not ready: recovering state from disk");
    if (!ctx.log.healthy())
        co_return model::make_error(model::Errc::journal_failed, "Not ready: the journal failed (" + ctx.log.failure() +
                                                                     "); changes are refused until taskd restarts");
    co_return json_response(200, R"({"status":"ready"})");
}

}  // namespace

void add_ops_routes(http::Router& router, ApiContext& ctx) {
    router.add(Method::get, "/healthz", make_handler(ctx, healthz, WhenRecovering::serve));
    router.add(Method::get, "/readyz", make_handler(ctx, readyz, WhenRecovering::serve));
}

}  // namespace taskd::api
