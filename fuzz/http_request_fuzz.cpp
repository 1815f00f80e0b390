// Fuzz target http_request: whole HTTP/1 requests as bytes -> RequestParser (the server's
// header and body limits) -> target decoding -> the real Router of api::make_router -> the
// matched handler, run to completion on an io_context, against an in-memory Store and
// MemoryLog. The input may hold several pipelined requests (at most kMaxRequests), served in
// order on the same store, so that a create can be followed by a claim, a patch, a list.
//
// Credentials are fixed so the fuzzer can find them in its corpus: the admin token
// "admin-token" and one registered agent of tenant kTenant with token "agent-token".
//
// Asserts: no crash or sanitizer report, no exception out of a handler (the connection would
// answer 500), no 5xx other than 503 (a bound or the journal), a status a client can read.
#include "api/context.hpp"
#include "api/routes.hpp"
#include "auth/token.hpp"
#include "http/limits.hpp"
#include "http/request_parser.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "journal/change_log.hpp"
#include "model/time.hpp"
#include "model/uuid.hpp"
#include "backend/memory_backend.hpp"
#include "store/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace taskd;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;

constexpr int kMaxRequests = 8;
constexpr std::string_view kTenant = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

[[noreturn]] void finding(const char* what, const http::Request& r, unsigned status) {
    std::fprintf(stderr, "http_request_fuzz: %s: %u for %s\n", what, status, r.target.c_str());
    std::abort();
}

struct World {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    journal::MemoryLog log;
    store::Store store{clock, log};
    backend::MemoryBackend backend{store, log};
    api::ApiContext ctx{backend, auth::hash_token("admin-token"), api::ApiConfig{}};
    http::Router router = api::make_router(ctx);
    http::Limits limits;

    World() {
        ctx.ready = true;
        ctx.config.max_waiters = 4;
        (void)store.register_agent("fuzz-agent", model::parse_uuid(kTenant), auth::hash_token("agent-token"));
    }
};

// Serves one request; false when the connection would close (protocol error or end of input).
bool serve_one(World& w, std::string_view& input) {
    http::Request request;
    http::RequestParser parser(request);
    parser.header_limit(static_cast<std::uint32_t>(w.limits.max_header_bytes));
    parser.body_limit(w.limits.max_body_bytes);
    parser.eager(true);
    boost::system::error_code ec;
    while (!input.empty() && !parser.is_done()) {
        const std::size_t used = parser.put(net::buffer(input.data(), input.size()), ec);
        input.remove_prefix(used);
        if (ec == bhttp::error::need_more) {
            if (used == 0) break;
            ec = {};
            continue;
        }
        if (ec) return false;
    }
    if (!parser.is_done()) {
        parser.put_eof(ec);
        if (ec || !parser.is_done()) return false;
    }
    if (parser.has_transfer_encoding() && !parser.chunked()) return false;
    if (!http::decode_target(request)) return false;

    http::Router::Match match = w.router.match(request.method, request.path);
    if (!match.handler) {
        if (match.status != 404 && match.status != 405) finding("router status", request, match.status);
        return parser.keep_alive();
    }
    request.path_params = std::move(match.params);

    net::io_context io;
    std::optional<http::Response> response;
    std::exception_ptr failed;
    net::co_spawn(io, (*match.handler)(request), [&](std::exception_ptr e, http::Response r) {
        if (e) failed = e;
        else response = std::move(r);
    });
    // A long poll waits on a real timer: let everything ready run, then stop the waiters (as
    // SIGTERM does) so that it answers at once instead of after `wait` seconds.
    io.poll();
    if (!response && !failed) {
        w.ctx.waiters.stop();
        io.restart();
        io.run();
    }
    if (failed) {
        try {
            std::rethrow_exception(failed);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "handler threw: %s\n", e.what());
        } catch (...) {
        }
        finding("handler threw (the connection answers 500)", request, 500);
    }
    if (!response) finding("handler never completed", request, 0);
    const unsigned status = response->status;
    if (status < 200 || status > 599 || (status >= 500 && status != 503)) finding("status", request, status);
    if (response->stream) {
        // Drained on the same io_context: the in-memory backend's pages complete at once.
        net::co_spawn(io, [&]() -> net::awaitable<void> {
            std::string piece;
            for (int i = 0; i < 100000; ++i, piece.clear())
                if (co_await response->stream(piece) != http::Piece::more) break;
        }, net::detached);
        io.restart();
        io.run();
    }
    w.clock.advance(std::chrono::seconds{1});
    return parser.keep_alive() && !w.ctx.waiters.stopping();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    World w;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    for (int i = 0; i < kMaxRequests && !input.empty(); ++i)
        if (!serve_one(w, input)) break;
    return 0;
}
