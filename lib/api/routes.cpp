#include "api/routes.hpp"

namespace taskd::api {

http::Router make_router(ApiContext& ctx) {
    http::Router router;
    add_task_routes(router, ctx);
    add_agent_routes(router, ctx);
    add_ops_routes(router, ctx);
    add_docs_routes(router, ctx);
    add_stats_routes(router, ctx);
    add_ui_routes(router, ctx);
    return router;
}

}  // namespace taskd::api
