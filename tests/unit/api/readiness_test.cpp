// /healthz and /readyz while the state is recovered and after the journal fails: the routes of
// api/ops_routes, run in-process through the real router and handlers.
#include "api/context.hpp"
#include "api/routes.hpp"
#include "auth/token.hpp"
#include "journal/change_log.hpp"
#include "backend/memory_backend.hpp"
#include "store/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

namespace {

using namespace taskd;

// A log that can be told it has failed, as the writer is after a failed write.
class SwitchableLog final : public journal::ChangeLog {
public:
    std::uint64_t append(journal::RecordType type, std::string_view payload) override { return memory_.append(type, payload); }
    std::uint64_t last_sequence() const override { return memory_.last_sequence(); }
    bool healthy() const override { return healthy_; }
    std::string failure() const override { return "disk full"; }
    void wait_durable(std::uint64_t sequence, journal::DurableWaiter waiter) override {
        memory_.wait_durable(sequence, std::move(waiter));
    }
    bool healthy_ = true;

private:
    journal::MemoryLog memory_;
};

struct Api {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    SwitchableLog log;
    store::Store store{clock, log};
    backend::MemoryBackend backend{store, log};
    api::ApiContext ctx{backend, auth::hash_token("admin-token-for-tests"), {}};
    http::Router router = api::make_router(ctx);

    http::Response call(http::Method method, const std::string& path, std::string body = {}) {
        http::Request request;
        request.method = method;
        request.path = path;
        request.authorization = "Bearer admin-token-for-tests";
        request.body = std::move(body);
        auto match = router.match(method, path);
        BOOST_TEST_REQUIRE(match.handler != nullptr);
        request.path_params = match.params;
        boost::asio::io_context ioc;
        auto answer = boost::asio::co_spawn(ioc, (*match.handler)(request), boost::asio::use_future);
        ioc.run();
        return answer.get();
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(readiness)

BOOST_AUTO_TEST_CASE(while_recovering_only_health_answers) {
    Api api;  // ready is false until the server has recovered its state
    BOOST_TEST(api.call(http::Method::get, "/healthz").status == 200u);
    auto ready = api.call(http::Method::get, "/readyz");
    BOOST_TEST(ready.status == 503u);
    BOOST_TEST(ready.body.find("recovering") != std::string::npos, ready.body);
    auto create = api.call(http::Method::post, "/tasks", R"({"tenant_id":"2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44","type":"x"})");
    BOOST_TEST(create.status == 503u);
    BOOST_TEST(api.call(http::Method::get, "/tasks").status == 503u);
    BOOST_TEST(api.store.task_count() == 0u);

    api.ctx.ready = true;
    BOOST_TEST(api.call(http::Method::get, "/readyz").status == 200u);
    BOOST_TEST(api.call(http::Method::post, "/tasks", R"({"tenant_id":"2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44","type":"x"})")
                   .status == 201u);
}

BOOST_AUTO_TEST_CASE(after_a_journal_failure_readyz_says_why_and_changes_get_503) {
    Api api;
    api.ctx.ready = true;
    BOOST_TEST(api.call(http::Method::post, "/tasks", R"({"tenant_id":"2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44","type":"x"})")
                   .status == 201u);
    api.log.healthy_ = false;
    auto ready = api.call(http::Method::get, "/readyz");
    BOOST_TEST(ready.status == 503u);
    BOOST_TEST(ready.body.find("disk full") != std::string::npos, ready.body);
    auto create = api.call(http::Method::post, "/tasks", R"({"tenant_id":"2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44","type":"x"})");
    BOOST_TEST(create.status == 503u);
    BOOST_TEST(create.body.find("journal") != std::string::npos, create.body);
    BOOST_TEST(api.call(http::Method::get, "/tasks").status == 200u);  // reads go on
    BOOST_TEST(api.store.task_count() == 1u);                         // the refused change applied nothing
    BOOST_TEST(api.call(http::Method::get, "/healthz").status == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
