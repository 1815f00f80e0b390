// Handlers of /tasks (API.md, "Tasks").
#include "api/caller.hpp"
#include "api/codec.hpp"
#include "api/cursor.hpp"
#include "api/handler.hpp"
#include "api/json_body.hpp"
#include "api/routes.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/url/url.hpp>

#include <charconv>
#include <chrono>
#include <memory>

namespace taskd::api {
namespace {

namespace net = boost::asio;
using http::Method;
using http::Request;
using http::Response;
using model::FieldErrors;

// A page of an unlimited listing: how many tasks are serialised per hold of the store's shared
// lock. Small enough that writers wait little, large enough that locking costs nothing.
constexpr std::size_t kStreamPage = 256;
constexpr std::size_t kMaxLimit = 1000;
// A long poll waits at most a minute: longer and proxies between agent and server time out.
constexpr unsigned kMaxWaitSeconds = 60;

// The query of GET /tasks, validated.
struct ListQuery {
    store::TaskFilter filter;
    std::optional<std::size_t> limit;
    std::optional<store::TaskKey> after;
};

std::optional<model::Uuid> query_uuid(const Request& r, std::string_view name, FieldErrors& errors) {
    const auto text = r.query_param(name);
    if (!text) return std::nullopt;
    auto id = model::parse_uuid(*text);
    if (!id) errors.push_back(invalid_uuid({"query", std::string(name)}));
    return id;
}

std::optional<std::size_t> read_limit(std::string_view text, FieldErrors& errors) {
    const model::Loc loc{"query", "limit"};
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc::result_out_of_range) {
        n = text.starts_with('-') ? 0 : static_cast<std::int64_t>(kMaxLimit) + 1;
    } else if (ec != std::errc{} || end != text.data() + text.size()) {
        errors.push_back({loc, "value is not a valid integer", "type_error.integer"});
        return std::nullopt;
    }
    if (n < 1) {
        errors.push_back({loc, "ensure this value is greater than or equal to 1", "value_error.number.not_ge"});
        return std::nullopt;
    }
    if (n > static_cast<std::int64_t>(kMaxLimit)) {
        errors.push_back({loc, "ensure this value is less than or equal to 1000", "value_error.number.not_le"});
        return std::nullopt;
    }
    return static_cast<std::size_t>(n);
}

// priority=<0-9>, as POST /tasks takes it.
std::optional<std::uint8_t> read_priority(std::string_view text, FieldErrors& errors) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n > model::kMaxPriority) {
        errors.push_back({{"query", "priority"}, "ensure this value is an integer from 0 to 9", "value_error.number"});
        return std::nullopt;
    }
    return static_cast<std::uint8_t>(n);
}

ListQuery read_list_query(const Request& r, FieldErrors& errors) {
    ListQuery q;
    q.filter.tenant_id = query_uuid(r, "tenant_id", errors);
    if (auto s = r.query_param("status")) {
        q.filter.status = model::parse_status(*s);
        if (!q.filter.status) errors.push_back(invalid_status({"query", "status"}));
    }
    q.filter.agent_id = query_uuid(r, "agent_id", errors);
    if (auto type = r.query_param("type")) q.filter.type = std::string(*type);
    if (auto text = r.query_param("priority")) q.filter.priority = read_priority(*text, errors);
    if (auto text = r.query_param("limit")) q.limit = read_limit(*text, errors);
    if (auto text = r.query_param("cursor")) {
        q.after = decode_cursor(*text);
        if (!q.after) errors.push_back({{"query", "cursor"}, "invalid cursor", "value_error.cursor"});
    }
    return q;
}

// </tasks?tenant_id=…&limit=…&cursor=…>; rel="next": the same filters, the next position.
std::string next_link(const ListQuery& q, const store::TaskKey& last) {
    boost::urls::url url("/tasks");
    auto params = url.params();
    if (q.filter.tenant_id) params.append({"tenant_id", model::to_string(*q.filter.tenant_id)});
    if (q.filter.status) params.append({"status", to_string(*q.filter.status)});
    if (q.filter.agent_id) params.append({"agent_id", model::to_string(*q.filter.agent_id)});
    if (q.filter.type) params.append({"type", *q.filter.type});
    if (q.filter.priority) params.append({"priority", std::to_string(*q.filter.priority)});
    params.append({"limit", std::to_string(*q.limit)});
    params.append({"cursor", encode_cursor(last)});
    std::string link = "<";
    link += url.buffer();
    link += ">; rel=\"next\"";
    return link;
}

// The busiest handlers read their request in plain functions (read_new_task, read_patch,
// found_task): a coroutine keeps every local and temporary in its frame, and asio reuses a
// frame's memory only up to 1020 bytes (thread_info_base: 255 chunks of 4). A larger frame is a
// malloc and a free on every request; create_task's was 1232 bytes, some 350 instructions.

// The caller's permission comes first: 403 before 422 (API.md, "Errors").
model::Result<store::NewTask> read_new_task(ApiContext& ctx, const Caller& caller, const Request& r) {
    if (auto ok = require_admin(caller); !ok) return ok.error();
    if (r.idempotency_key && !store::is_valid_idempotency_key(*r.idempotency_key))
        return field_error({"header", "Idempotency-Key"}, "must be 1-255 visible ASCII characters",
                           "value_error.idempotency_key");
    boost::json::monotonic_resource body_memory;
    auto body = parse_json_body(r.body, ctx.config.max_json_depth, &body_memory);
    if (!body) return body.error();
    FieldErrors errors;
    store::NewTask input = decode_new_task(*body, ctx.config, ctx.now(), errors);
    if (!errors.empty()) return model::validation_error(std::move(errors));
    input.idempotency_key = r.idempotency_key;
    return input;
}

net::awaitable<HandlerResult> create_task(ApiContext& ctx, Request& r) {
    auto authenticated = authenticate_now(ctx, r);
    if (!authenticated) authenticated = co_await authenticate(ctx, r);
    if (!*authenticated) co_return authenticated->error();
    auto input = read_new_task(ctx, **authenticated, r);
    if (!input) co_return input.error();
    auto created = co_await ctx.backend.create_task(std::move(*input));
    if (!created) co_return created.error();
    co_return json_response(created->repeat ? 200 : 201, task_json(created->task));
}

net::awaitable<HandlerResult> list_tasks(ApiContext& ctx, Request& r) {
    auto authenticated = authenticate_now(ctx, r);
    if (!authenticated) authenticated = co_await authenticate(ctx, r);
    if (!*authenticated) co_return authenticated->error();
    const Caller& caller = **authenticated;
    if (auto ok = require_admin(caller); !ok) co_return ok.error();
    FieldErrors errors;
    ListQuery q = read_list_query(r, errors);
    if (!errors.empty()) co_return model::validation_error(std::move(errors));

    if (q.limit) {
        std::string body = "[";
        store::TaskKey last;
        auto more = co_await ctx.backend.list_tasks(q.filter, q.after, *q.limit, [&](const model::Task& t) {
            if (body.size() > 1) body += ',';
            append_task(body, t);
            last = store::key_of(t);
        });
        if (!more) co_return more.error();
        body += ']';
        Response response = json_response(200, std::move(body));
        if (*more) response.headers.emplace_back("Link", next_link(q, last));
        co_return response;
    }

    // Without a limit every matching task is answered; build it a page at a time as the
    // connection sends it, never as one string. A page that cannot be read (the database went
    // away) ends the answer unfinished: the client sees a broken transfer, not a short list.
    struct Stream {
        store::TaskFilter filter;
        std::optional<store::TaskKey> after;
        bool started = false;
    };
    auto state = std::make_shared<Stream>(Stream{std::move(q.filter), q.after});
    Response response;
    response.stream = [&backend = ctx.backend, state](std::string& out) -> net::awaitable<http::Piece> {
        if (!state->started) out += '[';
        bool first = !state->started;
        state->started = true;
        const auto more = co_await backend.list_tasks(state->filter, state->after, kStreamPage, [&](const model::Task& t) {
            if (!first) out += ',';
            first = false;
            append_task(out, t);
            state->after = store::key_of(t);
        });
        if (!more) co_return http::Piece::failed;
        if (!*more) out += ']';
        co_return *more ? http::Piece::more : http::Piece::last;
    };
    co_return response;
}

Response claim_answer(const std::optional<model::Task>& task) {
    return json_response(200, task ? task_json(*task) : std::string("null"));
}

// A waiter woken for a task of `woken_for` that did not take a task of that tenant (it took an
// older one of another tenant, or its claim failed) leaves that task pending: the wake-up goes on
// to the next waiter. One that found nothing at all does not pass it on: then nothing it may
// take is pending, the task went to someone else, and passing on would wake waiters in a circle.
void pass_on_wake_up(ApiContext& ctx, const std::optional<model::Uuid>& woken_for,
                     const model::Result<std::optional<model::Task>>& claimed) {
    if (!woken_for) return;
    if (claimed && (!*claimed || (*claimed)->tenant_id == *woken_for)) return;
    ctx.waiters.notify(*woken_for);
}

// wait=<0-60> seconds of long poll.
std::optional<std::chrono::seconds> read_wait(const Request& r, FieldErrors& errors) {
    const auto text = r.query_param("wait");
    if (!text) return std::chrono::seconds{0};
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc{} || end != text->data() + text->size() || n > kMaxWaitSeconds) {
        errors.push_back({{"query", "wait"}, "ensure this value is an integer from 0 to 60", "value_error.number"});
        return std::nullopt;
    }
    return std::chrono::seconds{n};
}

net::awaitable<HandlerResult> claim_next(ApiContext& ctx, Request& r) {
    auto authenticated = authenticate_now(ctx, r);
    if (!authenticated) authenticated = co_await authenticate(ctx, r);
    if (!*authenticated) co_return authenticated->error();
    const Caller& caller = **authenticated;
    if (auto ok = require_agent(caller); !ok) co_return ok.error();
    FieldErrors errors;
    const auto agent_text = r.query_param("agent_id");
    if (!agent_text) errors.push_back({{"query", "agent_id"}, "field required", "value_error.missing"});
    const auto agent_id = query_uuid(r, "agent_id", errors);
    const auto wait = read_wait(r, errors);
    if (!errors.empty()) co_return model::validation_error(std::move(errors));
    // As in the original: a token that is not this agent's is a failed authentication.
    if (*agent_id != caller.agent->id) co_return unauthorized("Invalid agent credentials");
    const model::Agent& agent = *caller.agent;

    auto claimed = co_await ctx.backend.claim(agent);
    if (!claimed) co_return claimed.error();
    if (*claimed || wait->count() == 0) co_return claim_answer(*claimed);

    // Long poll: wait, without a thread, until a task this agent may take is created or comes
    // back, or the time is up.
    const auto deadline = std::chrono::steady_clock::now() + *wait;
    const auto executor = co_await net::this_coro::executor;
    for (;;) {
        auto waiter = ctx.waiters.add(executor, agent.id, agent.tenant_id);
        if (!waiter) {
            if (ctx.waiters.stopping()) co_return claim_answer(std::nullopt);
            co_return model::make_error(model::Errc::unavailable,
                                        "Too many long polls are waiting (--max-waiters); retry shortly");
        }
        // A task may have arrived between the claim above and add(): look once more.
        claimed = co_await ctx.backend.claim(agent);
        if (!claimed || *claimed) {
            pass_on_wake_up(ctx, ctx.waiters.remove(waiter), claimed);
            if (!claimed) co_return claimed.error();
            co_return claim_answer(*claimed);
        }
        if (!ctx.waiters.woken(waiter)) {
            waiter->timer.expires_at(deadline);
            bool client_gone = false;
            if (r.client_closed) {
                using namespace boost::asio::experimental::awaitable_operators;
                auto first = co_await (waiter->timer.async_wait(net::as_tuple(net::use_awaitable)) || r.client_closed());
                client_gone = first.index() == 1;
            } else {
                co_await waiter->timer.async_wait(net::as_tuple(net::use_awaitable));
            }
            if (client_gone) {
                // Nobody will read an answer: claim nothing, and hand a wake-up on.
                if (auto woken_for = ctx.waiters.remove(waiter)) ctx.waiters.notify(*woken_for);
                co_return claim_answer(std::nullopt);
            }
        }
        const auto woken_for = ctx.waiters.remove(waiter);
        if (ctx.waiters.stopping()) co_return claim_answer(std::nullopt);
        claimed = co_await ctx.backend.claim(agent);
        pass_on_wake_up(ctx, woken_for, claimed);
        if (!claimed) co_return claimed.error();
        if (*claimed || std::chrono::steady_clock::now() >= deadline) co_return claim_answer(*claimed);
    }
}

std::optional<model::Uuid> path_task_id(const Request& r, FieldErrors& errors) {
    auto id = model::parse_uuid(r.path_params.at(0));
    if (!id) errors.push_back(invalid_uuid({"path", "task_id"}));
    return id;
}

model::Error task_not_found(const std::string& text) {
    return model::make_error(model::Errc::not_found, "Task " + text + " not found");
}

// GET /tasks/{id}'s answer once the task is read.
HandlerResult found_task(const Caller& caller, const model::Uuid& id,
                         const model::Result<std::optional<model::Task>>& task) {
    if (!task) return task.error();
    // An agent sees only tasks it holds or held last, and the same 404 for every other task,
    // so that it cannot learn which ids exist.
    if (!*task || (caller.agent && (*task)->agent_id != caller.agent->id))
        return task_not_found(model::to_string(id));
    return json_response(200, task_json(**task));
}

net::awaitable<HandlerResult> get_task(ApiContext& ctx, Request& r) {
    auto authenticated = authenticate_now(ctx, r);
    if (!authenticated) authenticated = co_await authenticate(ctx, r);
    if (!*authenticated) co_return authenticated->error();
    FieldErrors errors;
    const auto id = path_task_id(r, errors);
    if (!errors.empty()) co_return model::validation_error(std::move(errors));
    auto task = ctx.backend.find_task_now(*id);
    if (!task) task = co_await ctx.backend.find_task(*id);
    co_return found_task(**authenticated, *id, *task);
}

struct PatchRequest {
    model::Uuid id;
    model::Patch patch;
};

model::Result<PatchRequest> read_patch(ApiContext& ctx, const Request& r) {
    FieldErrors errors;
    const auto id = path_task_id(r, errors);
    boost::json::monotonic_resource body_memory;
    auto body = parse_json_body(r.body, ctx.config.max_json_depth, &body_memory);
    if (!body) {
        const model::Error body_error = body.error();
        errors.insert(errors.end(), body_error.fields.begin(), body_error.fields.end());
        return model::validation_error(std::move(errors));
    }
    model::Patch patch = decode_patch(*body, errors);
    if (!errors.empty()) return model::validation_error(std::move(errors));
    return PatchRequest{*id, std::move(patch)};
}

net::awaitable<HandlerResult> patch_task(ApiContext& ctx, Request& r) {
    auto authenticated = authenticate_now(ctx, r);
    if (!authenticated) authenticated = co_await authenticate(ctx, r);
    if (!*authenticated) co_return authenticated->error();
    const auto request = read_patch(ctx, r);
    if (!request) co_return request.error();
    auto patched = co_await ctx.backend.patch_task(request->id, request->patch, (*authenticated)->agent);
    if (!patched) co_return patched.error();
    co_return json_response(200, task_json(*patched));
}

}  // namespace

void add_task_routes(http::Router& router, ApiContext& ctx) {
    for (const char* path : {"/tasks", "/tasks/"}) {
        router.add(Method::get, path, make_handler(ctx, list_tasks));
        router.add(Method::post, path, make_handler(ctx, create_task));
    }
    router.add(Method::get, "/tasks/next", make_handler(ctx, claim_next));
    router.add(Method::get, "/tasks/{task_id}", make_handler(ctx, get_task));
    router.add(Method::patch, "/tasks/{task_id}", make_handler(ctx, patch_task));
}

}  // namespace taskd::api
