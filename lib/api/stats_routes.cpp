// GET /stats (API.md, "Operations"): what the operator's console shows, as JSON, for the admin.
//
//   {"time": "…Z",
//    "tasks": {"pending": n, "running": n, "completed": n, "failed": n},
//    "tenants": [{"tenant_id": "…", "pending": n, "running": n, "failed": n}, …],
//    "agents": {"registered": n, "seen_last_minute": n},
//    "totals": {"creates": n, "claims": n, "completions": n}}
//
// `totals` count since this process started; a client takes rates from two answers' differences
// over the difference of their `time`s. Its cost grows with tenants and agents, not tasks.
#include "api/caller.hpp"
#include "api/handler.hpp"
#include "api/routes.hpp"
#include "model/status.hpp"

#include <chrono>

namespace taskd::api {
namespace {

namespace net = boost::asio;
using http::Method;
using http::Request;

// "Agents seen in the last minute": an agent long-polling with wait=60 or less is seen at least
// this often.
constexpr std::chrono::seconds kSeenWithin{60};

void append_field(std::string& out, std::string_view name, std::uint64_t value) {
    out += '"';
    out += name;
    out += "\":";
    out += std::to_string(value);
}

net::awaitable<HandlerResult> stats(ApiContext& ctx, Request& r) {
    auto authenticated = authenticate_now(ctx, r);
    if (!authenticated) authenticated = co_await authenticate(ctx, r);
    if (!*authenticated) co_return authenticated->error();
    const Caller& caller = **authenticated;
    if (auto ok = require_admin(caller); !ok) co_return ok.error();
    const auto counted = co_await ctx.backend.stats(kSeenWithin);
    if (!counted) co_return counted.error();
    const backend::Stats& s = *counted;
    std::string out = "{\"time\":\"";
    model::append_rfc3339(out, s.now);
    out += "\",\"tasks\":{";
    for (model::Status status : model::kAllStatuses) {
        if (out.back() != '{') out += ',';
        append_field(out, model::to_string(status), s.by_status[static_cast<std::size_t>(status)]);
    }
    out += "},\"tenants\":[";
    for (const auto& t : s.tenants) {
        if (out.back() != '[') out += ',';
        out += "{\"tenant_id\":\"";
        model::append_uuid(out, t.tenant_id);
        out += "\",";
        append_field(out, "pending", t.pending);
        out += ',';
        append_field(out, "running", t.running);
        out += ',';
        append_field(out, "failed", t.failed);
        out += '}';
    }
    out += "],\"agents\":{";
    append_field(out, "registered", s.agents);
    out += ',';
    append_field(out, "seen_last_minute", s.agents_seen);
    out += "},\"totals\":{";
    append_field(out, "creates", s.creates);
    out += ',';
    append_field(out, "claims", s.claims);
    out += ',';
    append_field(out, "completions", s.completions);
    out += "}}";
    co_return json_response(200, std::move(out));
}

}  // namespace

void add_stats_routes(http::Router& router, ApiContext& ctx) {
    router.add(Method::get, "/stats", make_handler(ctx, stats));
}

}  // namespace taskd::api
