#include "api/handler.hpp"


namespace taskd::api {
namespace net = boost::asio;

http::Handler make_handler(ApiContext& ctx, HandlerFn fn, WhenRecovering when_recovering) {
    return [&ctx, fn, when_recovering](http::Request& request) -> net::awaitable<http::Response> {
        if (when_recovering == WhenRecovering::refuse && !ctx.ready.load(std::memory_order_acquire)) {
            co_return error_response(
                model::make_error(model::Errc::unavailable, "Not ready: taskd is recovering its state from disk"));
        }
        HandlerResult result = co_await fn(ctx, request);
        co_return result ? std::move(*result) : error_response(result.error());
    };
}

}  // namespace taskd::api
