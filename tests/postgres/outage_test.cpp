// The database goes away and comes back: errors, bounded, never a crash or a hang; then the pool
// and the listener recover by themselves. Each test here has a cluster of its own.
#include "pg/listener.hpp"
#include "pg/pool.hpp"
#include "pg_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <array>

namespace asio = boost::asio;
using namespace taskd;
using taskd::test::Events;
using taskd::test::IoThreads;
using taskd::test::PostgresCluster;

namespace {

// Runs `count` queries at once through the pool; answers how many succeeded and the errors.
// Each is bounded by the pool's own bounds (acquire_timeout, connect and query timeouts); the
// test thread waits for them all within kBound.
std::pair<int, std::vector<pg::Error>> burst(IoThreads& io, const std::shared_ptr<pg::Pool>& pool, int count) {
    std::vector<std::future<std::optional<pg::Error>>> results;
    for (int i = 0; i < count; ++i) {
        results.push_back(asio::co_spawn(
            io.executor(),
            [](std::shared_ptr<pg::Pool> p) -> asio::awaitable<std::optional<pg::Error>> {
                auto lease = co_await p->acquire();
                if (!lease) co_return lease.error();
                auto r = co_await (*lease)->query("SELECT 1");
                if (!r) co_return r.error();
                co_return std::nullopt;
            }(pool),
            asio::use_future));
    }
    std::pair<int, std::vector<pg::Error>> out;
    const auto deadline = std::chrono::steady_clock::now() + test::kBound;
    for (auto& f : results) {
        BOOST_REQUIRE(f.wait_until(deadline) == std::future_status::ready);
        if (auto e = f.get()) {
            out.second.push_back(*e);
        } else {
            ++out.first;
        }
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outage)

BOOST_AUTO_TEST_CASE(the_database_stopped_and_started_again_under_a_pool_and_a_listener) {
    PostgresCluster cluster;
    cluster.create_database("outage");
    const std::string url = cluster.url("outage");
    Events<bool> health;
    Events<bool> listening;
    Events<std::string> payloads;
    IoThreads io;

    pg::Pool::Options options;
    options.size = 3;
    options.acquire_timeout = std::chrono::seconds{5};
    options.backoff_min = std::chrono::milliseconds{20};
    options.backoff_max = std::chrono::milliseconds{500};
    options.connection.connect_timeout = std::chrono::seconds{5};
    options.connection.query_timeout = std::chrono::seconds{10};
    options.on_health_change = [&](bool healthy) { health.push(healthy); };
    auto pool = pg::Pool::create(io.executor(), url, options);

    pg::Listener::Options listener_options;
    listener_options.backoff_min = std::chrono::milliseconds{20};
    listener_options.backoff_max = std::chrono::milliseconds{500};
    auto listener = pg::Listener::start(
        io.executor(), url, "wake", [&](std::string_view p) { payloads.push(std::string(p)); },
        [&](bool after_loss) { listening.push(after_loss); }, listener_options);
    BOOST_REQUIRE(listening.next() == std::optional<bool>(false));

    auto before = burst(io, pool, 20);
    BOOST_TEST(before.first == 20);

    cluster.stop("fast");
    // Every query fails, each within its bounds, none hangs or crashes; and the pool says it is
    // down once it has tried to open a connection.
    auto during = burst(io, pool, 20);
    BOOST_TEST(during.first == 0);
    BOOST_TEST(during.second.size() == 20u);
    for (const auto& e : during.second) BOOST_TEST(e.retryable(), e.message);
    // The idle connections found dead are dropped; a reopen then fails: the pool is down.
    if (pool->healthy()) {
        auto again = burst(io, pool, 1);
        BOOST_TEST(again.first == 0);
    }
    BOOST_REQUIRE(health.next() == std::optional<bool>(false));
    BOOST_TEST(!pool->healthy());
    BOOST_TEST(!pool->last_error().empty());

    cluster.start();
    // Nobody calls the pool meanwhile: it reconnects by itself, and so does the listener.
    BOOST_REQUIRE(health.next() == std::optional<bool>(true));
    BOOST_TEST(pool->healthy());
    BOOST_REQUIRE(listening.next() == std::optional<bool>(true));

    auto after = burst(io, pool, 20);
    BOOST_TEST(after.first == 20);
    BOOST_TEST(pool->stats().open <= 3u);

    // And the re-established LISTEN delivers.
    io.run([](std::shared_ptr<pg::Pool> p) -> asio::awaitable<void> {
        auto lease = co_await p->acquire();
        if (!lease) throw std::runtime_error(lease.error().message);
        (void)co_await (*lease)->query("NOTIFY wake, 'back'");
    }(pool));
    BOOST_TEST((payloads.next() == std::optional<std::string>("back")));

    listener->stop();
    pool->stop();
}

BOOST_AUTO_TEST_SUITE_END()
