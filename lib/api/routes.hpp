// The routes of API.md: which handler serves which (method, path).
//
//   POST   /tasks  /tasks/        create a task              (task_routes.cpp)
//   GET    /tasks  /tasks/        list tasks
//   GET    /tasks/next            claim the oldest pending task (agents)
//   GET    /tasks/{task_id}       one task
//   PATCH  /tasks/{task_id}       change status and/or result
//   POST   /agents /agents/       register an agent           (agent_routes.cpp)
//   GET    /agents /agents/       list agents
//   GET    /agents/{agent_id}     one agent
//   DELETE /agents/{agent_id}     delete an agent
//   GET    /healthz  /readyz      operations                  (ops_routes.cpp)
//   GET    /metrics
//   GET    /openapi.json  /docs   this API's description      (docs_routes.cpp)
//   GET    /stats                 counts for the console      (stats_routes.cpp)
//   GET    /ui /ui/ /ui/{file}    the console's files         (ui_routes.cpp)
//
// lib/api/openapi.json documents every one of them; tests/unit/api/openapi_test.cpp checks that
// it names exactly the routes of make_router().
#pragma once

#include "api/context.hpp"
#include "http/router.hpp"

namespace taskd::api {

http::Router make_router(ApiContext& ctx);

void add_task_routes(http::Router& router, ApiContext& ctx);
void add_agent_routes(http::Router& router, ApiContext& ctx);
void add_ops_routes(http::Router& router, ApiContext& ctx);
void add_docs_routes(http::Router& router, ApiContext& ctx);
void add_stats_routes(http::Router& router, ApiContext& ctx);
void add_ui_routes(http::Router& router, ApiContext& ctx);

}  // namespace taskd::api
