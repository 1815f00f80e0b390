#include "api/handler.hpp"

#include "journal/change_log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace taskd::api {
namespace net = boost::asio;

http::Handler make_handler(ApiContext& ctx, HandlerFn fn, WhenRecovering when_recovering) {
    return [&ctx, fn, when_recovering](http::Request& request) -> net::awaitable<http::Response> {
        if (when_recovering == WhenRecovering::refuse && !ctx.ready.load(std::memory_order_acquire)) {
            http::Response busy = http::json_error(503, "Not ready: taskd is recovering its state from disk");
            busy.headers.emplace_back("Retry-After", "1");
            co_return busy;
        }
        HandlerResult result = co_await fn(ctx, request);
        co_return result ? std::move(*result) : error_response(result.error());
    };
}

net::awaitable<model::Result<void>> durable(ApiContext& ctx, std::uint64_t sequence) {
    if (sequence == 0) co_return model::Result<void>{};
    auto [ec] = co_await journal::async_wait_durable(ctx.log, sequence, net::as_tuple(net::use_awaitable));
    if (ec)
        co_return model::make_error(model::Errc::journal_failed,
                                    "The change could not be made durable (" + ctx.log.failure() +
                                        "); taskd refuses changes until it is restarted");
    co_return model::Result<void>{};
}

}  // namespace taskd::api
