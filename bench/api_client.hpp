// ApiClient: one session's client of the task API (API.md): the requests the scenarios send,
// on one HttpConnection, with the checks that turn an answer into success or a failure.
//
// Paths are the original service's (`/tasks/`, `/agents/`, with the slash): taskd serves both
// spellings directly, the original redirects the bare ones with a 307, so the same requests
// reach the same handlers on both.
//
// Lives on one io_context thread.
#pragma once

#include "bench/checks.hpp"
#include "client/http_connection.hpp"
#include "bench/load.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace taskd::bench {

// The HTTP client lives in lib/client, shared with taskd-agent.
using client::format_request;
using client::HttpConnection;
using client::HttpResponse;
using client::Transport;

// The system under test.
struct Target {
    std::string host = "127.0.0.1";
    unsigned short port = 8000;
    std::string admin_token;  // empty: no Authorization header (the original's open admin side)
    // --tls: HTTPS, the server's certificate not verified (a measurement, not a trust decision).
    std::shared_ptr<client::TlsTarget> tls;

    boost::asio::ip::tcp::endpoint endpoint() const;
    std::string host_header() const { return host + ":" + std::to_string(port); }
};

struct Agent {
    std::string id;
    std::string token;
};

// The body of every task the scenarios create: a FILE_WRITE as the README's walkthrough sends.
// `extra` is inserted into the payload (",\"sent_ns\":123").
std::string task_body(std::string_view tenant_id, std::string_view extra = {});

class ApiClient {
public:
    ApiClient(boost::asio::any_io_executor executor, const Target& target, Watchdog& watchdog);

    // Sends one request and waits for its answer. A transport failure or a status other than
    // `expected_status` is returned as the operation's failure, tagged with `step`.
    boost::asio::awaitable<std::optional<Outcome>> call(std::string_view step, std::string_view method,
                                                        std::string_view path, std::string_view token,
                                                        std::string_view body, unsigned expected_status);

    // The failure for a body that `check` found wrong.
    Outcome wrong_body(std::string_view step, const std::string& what) const;

    // Setup helpers: throw std::runtime_error when the server refuses.
    boost::asio::awaitable<void> connect();
    boost::asio::awaitable<Agent> register_agent(std::string_view tenant_id, std::string_view name);
    boost::asio::awaitable<std::string> create_task(std::string_view tenant_id);  // its id

    const HttpResponse& response() const { return response_; }
    JsonReader& reader() { return reader_; }
    const Target& target() const { return target_; }

private:
    const Target& target_;
    std::string host_header_;
    HttpConnection connection_;
    std::string request_;
    HttpResponse response_;
    JsonReader reader_;
};

// Runs `work` to completion on a private io_context, with a watchdog for its connections (for
// preparation outside the load); rethrows what it throws.
void run_blocking(const std::function<boost::asio::awaitable<void>(boost::asio::any_io_executor, Watchdog&)>& work);

}  // namespace taskd::bench
