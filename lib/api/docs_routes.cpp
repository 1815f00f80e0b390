// GET /openapi.json and GET /docs (API.md, "Operations"): the API's description. Open, as
// FastAPI serves them, and served while recovering: they describe the API, not its state.
#include "api/handler.hpp"
#include "api/openapi_document.hpp"
#include "api/routes.hpp"

namespace taskd::api {
namespace {

namespace net = boost::asio;
using http::Method;
using http::Request;

net::awaitable<HandlerResult> openapi(ApiContext&, Request&) {
    co_return json_response(200, std::string(openapi_json()));
}

net::awaitable<HandlerResult> docs(ApiContext&, Request&) {
    http::Response out = json_response(200, std::string(docs_html()));
    out.content_type = "text/html; charset=utf-8";
    co_return out;
}

}  // namespace

void add_docs_routes(http::Router& router, ApiContext& ctx) {
    router.add(Method::get, "/openapi.json", make_handler(ctx, openapi, WhenRecovering::serve));
    router.add(Method::get, "/docs", make_handler(ctx, docs, WhenRecovering::serve));
}

}  // namespace taskd::api
