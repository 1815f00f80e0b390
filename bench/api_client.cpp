#include "bench/api_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <stdexcept>

namespace taskd::bench {
namespace net = boost::asio;

namespace {
// A bound for preparation requests (registering agents, filling a listing's tenant).
constexpr auto kSetupTimeout = std::chrono::seconds{60};
}  // namespace

net::ip::tcp::endpoint Target::endpoint() const { return {net::ip::make_address(host), port}; }

std::string task_body(std::string_view tenant_id, std::string_view extra) {
    std::string body;
    body.reserve(160);
    body.append(R"({"tenant_id":")")
        .append(tenant_id)
        .append(R"(","type":"FILE_WRITE","payload":{"path":"/opt/app/config.json","content":"{\"key\": \"value\"}")")
        .append(extra)
        .append("}}");
    return body;
}

ApiClient::ApiClient(net::any_io_executor executor, const Target& target, Watchdog& watchdog)
    : target_(target), host_header_(target.host_header()), connection_(std::move(executor), target.endpoint(), target.tls.get()) {
    watchdog.watch(connection_);
}

net::awaitable<std::optional<Outcome>> ApiClient::call(std::string_view step, std::string_view method,
                                                       std::string_view path, std::string_view token,
                                                       std::string_view body, unsigned expected_status) {
    format_request(request_, method, path, host_header_, token, body);
    const Transport t = co_await connection_.exchange(request_, response_);
    if (t != Transport::ok) {
        Outcome o;
        o.failure = t == Transport::timed_out ? FailureKind::timeout : FailureKind::io;
        o.step = step;
        o.sample = connection_.error_text();
        co_return o;
    }
    if (response_.status != expected_status) {
        Outcome o;
        o.failure = FailureKind::status;
        o.status = response_.status;
        o.step = step;
        o.sample = response_.body;
        co_return o;
    }
    co_return std::nullopt;
}

Outcome ApiClient::wrong_body(std::string_view step, const std::string& what) const {
    Outcome o;
    o.failure = FailureKind::body;
    o.step = step;
    o.sample = what + " in " + response_.body;
    return o;
}

net::awaitable<void> ApiClient::connect() {
    // Awaited into a variable first: GCC 12 miscompiles a throw that follows a co_await inside
    // an if condition (the coroutine dies on an illegal instruction).
    const Transport t = co_await connection_.connect();
    if (t != Transport::ok)
        throw std::runtime_error("cannot connect to " + target_.host_header() + ": " +
                                 connection_.last_error().message());
}

net::awaitable<Agent> ApiClient::register_agent(std::string_view tenant_id, std::string_view name) {
    const std::string body = R"({"name":")" + std::string(name) + R"(","tenant_id":")" + std::string(tenant_id) + "\"}";
    if (auto failed = co_await call("register agent", "POST", "/agents/", target_.admin_token, body, 201))
        throw std::runtime_error("POST /agents/: " + failed->key() + " " + failed->sample);
    const auto* v = reader_.parse(response_.body);
    const auto* o = v ? v->if_object() : nullptr;
    const auto* id = o && o->if_contains("id") ? o->at("id").if_string() : nullptr;
    const auto* token = o && o->if_contains("token") ? o->at("token").if_string() : nullptr;
    if (!id || !token) throw std::runtime_error("POST /agents/ answered without id and token: " + response_.body);
    co_return Agent{std::string(*id), std::string(*token)};
}

net::awaitable<std::string> ApiClient::create_task(std::string_view tenant_id) {
    if (auto failed = co_await call("create", "POST", "/tasks/", target_.admin_token, task_body(tenant_id), 201))
        throw std::runtime_error("POST /tasks/: " + failed->key() + " " + failed->sample);
    std::string id;
    if (auto wrong = check_task_body(reader_, response_.body, {.status = "pending", .id = {}, .agent_id = {}}, &id))
        throw std::runtime_error("POST /tasks/: " + *wrong + " in " + response_.body);
    co_return id;
}

void run_blocking(const std::function<net::awaitable<void>(net::any_io_executor, Watchdog&)>& work) {
    net::io_context ioc(1);
    std::atomic<bool> never{false};
    Watchdog watchdog(ioc.get_executor(), kSetupTimeout, never);
    std::exception_ptr error;
    net::co_spawn(ioc, watchdog.run(), net::detached);
    net::co_spawn(ioc, work(ioc.get_executor(), watchdog), [&](std::exception_ptr e) {
        error = e;
        watchdog.stop();
    });
    ioc.run();
    if (error) std::rethrow_exception(error);
}

}  // namespace taskd::bench
