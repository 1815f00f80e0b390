// /ui: the operator's console (ui/, README "Console"), served from the files compiled into the
// binary. Open: the page holds no data; it asks for the admin token and sends it to the API as
// a bearer token. Off with --ui=false (every /ui path is then 404, as any unknown path).
//
// Every answer under /ui, errors included, carries a strict Content-Security-Policy: only our
// own scripts and styles run, no inline ones, nothing from elsewhere, and no framing. The
// console inserts values with textContent only, so that task payloads and agent names are
// shown as text; the policy is the second wall should that ever slip.
#include "api/handler.hpp"
#include "api/routes.hpp"
#include "api/ui_assets.hpp"

namespace taskd::api {
namespace {

namespace net = boost::asio;
using http::Method;
using http::Request;

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

http::Response with_security_headers(http::Response r) {
    r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    // A new build may change any file; the page is small, so it is always asked for again.
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

http::Response asset(std::string_view name) {
    for (const UiAsset& a : ui_assets()) {
        if (a.name != name) continue;
        http::Response r;
        r.content_type = a.content_type;
        r.body = a.body;
        return with_security_headers(std::move(r));
    }
    return with_security_headers(http::json_error(404, "Not Found"));
}

net::awaitable<HandlerResult> page(ApiContext&, Request&) { co_return asset("index.html"); }

net::awaitable<HandlerResult> file(ApiContext&, Request& r) { co_return asset(r.path_params.at(0)); }

}  // namespace

void add_ui_routes(http::Router& router, ApiContext& ctx) {
    if (!ctx.config.ui) return;
    router.add(Method::get, "/ui", make_handler(ctx, page, WhenRecovering::serve));
    router.add(Method::get, "/ui/", make_handler(ctx, page, WhenRecovering::serve));
    router.add(Method::get, "/ui/{file}", make_handler(ctx, file, WhenRecovering::serve));
}

}  // namespace taskd::api
