// Operations endpoints (API.md, "Operations"). Open: no credentials needed (GET /metrics
// needs the admin token with --metrics-auth).
#include "api/caller.hpp"
#include "api/handler.hpp"
#include "api/routes.hpp"
#include "metrics/text_format.hpp"
#include "model/status.hpp"

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
    if (auto why = ctx.backend.unavailable()) {
        why->detail = "Not ready: " + why->detail;
        co_return std::move(*why);
    }
    co_return json_response(200, R"({"status":"ready"})");
}

// The Prometheus text format (0.0.4): what the API side counts here, the server's parts through
// ctx.write_server_metrics. A scrape costs the number of tenants and routes, not of tasks.
net::awaitable<HandlerResult> metrics(ApiContext& ctx, Request& r) {
    if (ctx.config.metrics_auth) {
        auto authenticated = authenticate_now(ctx, r);
        if (!authenticated) authenticated = co_await authenticate(ctx, r);
        if (!*authenticated) co_return authenticated->error();
        const Caller& caller = **authenticated;
        if (auto ok = require_admin(caller); !ok) co_return ok.error();
    }
    http::Response out;
    out.content_type = metrics::kContentType;
    std::string& m = out.body;
    metrics::write_family(m, "taskd_tasks", "gauge", "Tasks held, by status.");
    const auto counted = co_await ctx.backend.task_count_by_status();
    if (!counted) co_return counted.error();
    const auto& counts = *counted;
    for (model::Status s : {model::Status::pending, model::Status::running, model::Status::completed, model::Status::failed})
        metrics::write_sample(m, "taskd_tasks", "status=\"" + std::string(model::to_string(s)) + "\"",
                              static_cast<std::uint64_t>(counts[static_cast<std::size_t>(s)]));
    const auto& counters = ctx.backend.counters();
    metrics::write_family(m, "taskd_claims_total", "counter", "Claims that won a task.");
    metrics::write_sample(m, "taskd_claims_total", "", counters.claims.total());
    metrics::write_family(m, "taskd_lease_expiries_total", "counter",
                          "Leases that ran out (the task went back to pending, or failed after max_attempts).");
    metrics::write_sample(m, "taskd_lease_expiries_total", "", counters.lease_expiries.total());
    metrics::write_family(m, "taskd_idempotent_repeats_total", "counter",
                          "Creates answered with the task first created under their Idempotency-Key.");
    metrics::write_sample(m, "taskd_idempotent_repeats_total", "", counters.idempotent_repeats.total());
    metrics::write_family(m, "taskd_long_poll_waiters", "gauge", "Long polls waiting for a task now.");
    metrics::write_sample(m, "taskd_long_poll_waiters", "", static_cast<std::uint64_t>(ctx.waiters.count()));
    if (ctx.write_server_metrics) ctx.write_server_metrics(m);
    co_return out;
}

}  // namespace

void add_ops_routes(http::Router& router, ApiContext& ctx) {
    router.add(Method::get, "/healthz", make_handler(ctx, healthz, WhenRecovering::serve));
    router.add(Method::get, "/readyz", make_handler(ctx, readyz, WhenRecovering::serve));
    // Not while recovering: replay holds the store's lock, and a scrape would wait for it.
    router.add(Method::get, "/metrics", make_handler(ctx, metrics));
}

}  // namespace taskd::api
