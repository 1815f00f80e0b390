// Operations endpoints (API.md, "Operations"). Open: no credentials needed.
#include "api/handler.hpp"
#include "api/routes.hpp"

namespace taskd::api {
namespace {

using http::Method;
using http::Request;

// 200 while the process serves requests at all.
HandlerResult healthz(ApiContext&, Request&) { return json_response(200, R"({"status":"ok"})"); }

// 200 once the state is recovered from disk and the server can take changes; 503 before.
HandlerResult readyz(ApiContext& ctx, Request&) {
    if (!ctx.ready.load()) return model::make_error(model::Errc::unavailable, "Not ready: recovering state");
    return json_response(200, R"({"status":"ready"})");
}

}  // namespace

void add_ops_routes(http::Router& router, ApiContext& ctx) {
    router.add(Method::get, "/healthz", make_handler(ctx, healthz));
    router.add(Method::get, "/readyz", make_handler(ctx, readyz));
}

}  // namespace taskd::api
