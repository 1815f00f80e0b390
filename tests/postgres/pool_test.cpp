// pg::Pool: bounded, shared by many coroutines on several threads, waits bounded.
#include "pg/pool.hpp"
#include "pg_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <atomic>

namespace asio = boost::asio;
using namespace taskd;
using taskd::test::IoThreads;
using taskd::test::fresh_database;

BOOST_AUTO_TEST_SUITE(pool)

BOOST_AUTO_TEST_CASE(fifty_coroutines_on_two_threads_share_two_connections) {
    IoThreads io(2);
    // Our own application_name, so that pg_stat_activity shows exactly this pool's sessions.
    const std::string url = fresh_database() + "?application_name=pool_of_two";
    pg::Pool::Options options;
    options.size = 2;
    options.acquire_timeout = test::kBound;  // this test is about waiting, not about giving up
    auto pool = pg::Pool::create(io.executor(), url, options);

    constexpr int kCoroutines = 50;
    constexpr int kQueriesEach = 4;
    std::atomic<int> answered{0};
    std::atomic<int> most_sessions{0};
    std::atomic<int> errors{0};
    auto worker = [](std::shared_ptr<pg::Pool> p, int id, std::atomic<int>& answered_, std::atomic<int>& most,
                     std::atomic<int>& errors_) -> asio::awaitable<void> {
        for (int q = 0; q < kQueriesEach; ++q) {
            auto lease = co_await p->acquire();
            if (!lease) {
                ++errors_;
                continue;
            }
            const std::string mine = std::to_string(id * 100 + q);
            const std::array<pg::Param, 1> params{mine};
            // Seen from inside the workload: how many sessions of this pool exist right now.
            auto r = co_await (*lease)->query(
                "SELECT $1::int, (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pool_of_two')",
                params);
            if (!r || r->text(0, 0) != mine) {
                ++errors_;
                continue;
            }
            const int sessions = std::stoi(std::string(r->text(0, 1)));
            for (int m = most.load(); sessions > m && !most.compare_exchange_weak(m, sessions);) {
            }
            ++answered_;
        }
    };
    // All fifty start at once; the test thread waits for each, within one overall bound.
    std::vector<std::future<void>> done;
    for (int i = 0; i < kCoroutines; ++i) {
        done.push_back(
            asio::co_spawn(io.executor(), worker(pool, i, answered, most_sessions, errors), asio::use_future));
    }
    const auto deadline = std::chrono::steady_clock::now() + test::kBound;
    for (auto& d : done) {
        BOOST_REQUIRE(d.wait_until(deadline) == std::future_status::ready);
        d.get();
    }
    BOOST_TEST(errors.load() == 0);
    BOOST_TEST(answered.load() == kCoroutines * kQueriesEach);
    BOOST_TEST(most_sessions.load() >= 1);
    BOOST_TEST(most_sessions.load() <= 2);
    const auto stats = pool->stats();
    BOOST_TEST(stats.open <= 2u);
    BOOST_TEST(stats.waiting == 0u);
    BOOST_TEST(pool->healthy());
    pool->stop();
}

BOOST_AUTO_TEST_CASE(acquire_gives_up_after_its_bound_when_all_are_lent) {
    IoThreads io;
    const std::string url = fresh_database();
    pg::Pool::Options options;
    options.size = 1;
    options.acquire_timeout = std::chrono::milliseconds{200};
    auto pool = pg::Pool::create(io.executor(), url, options);
    auto [held_ok, second] = io.run([](std::shared_ptr<pg::Pool> p) -> asio::awaitable<std::pair<bool, pg::Error>> {
        auto held = co_await p->acquire();  // the only connection, kept while the next one asks
        auto next = co_await p->acquire();
        co_return std::pair{held.has_value(), next ? pg::Error{"", "acquired a second connection", false} : next.error()};
    }(pool));
    BOOST_TEST(held_ok);
    BOOST_TEST(second.retryable());
    BOOST_TEST(second.message.find("no database connection free") != std::string::npos, second.message);
    // The lease was returned when the coroutine ended: the next acquire is served.
    const bool again = io.run([](std::shared_ptr<pg::Pool> p) -> asio::awaitable<bool> {
        auto lease = co_await p->acquire();
        co_return lease.has_value() && (co_await (*lease)->query("SELECT 1")).has_value();
    }(pool));
    BOOST_TEST(again);
    BOOST_TEST(pool->stats().open == 1u);
    pool->stop();
}

BOOST_AUTO_TEST_CASE(a_broken_connection_is_dropped_and_replaced) {
    IoThreads io;
    const std::string url = fresh_database();
    pg::Pool::Options options;
    options.size = 1;
    options.connection.query_timeout = std::chrono::milliseconds{200};
    auto pool = pg::Pool::create(io.executor(), url, options);
    auto [first_pid, broke, second_pid] = io.run([](std::shared_ptr<pg::Pool> p) -> asio::awaitable<std::tuple<int, bool, int>> {
        int first = 0;
        bool broken = false;
        {
            auto lease = co_await p->acquire();
            if (!lease) throw std::runtime_error(lease.error().message);
            first = (*lease)->backend_pid();
            auto r = co_await (*lease)->query("SELECT pg_sleep(30)");  // past the bound: breaks it
            broken = !r && (*lease)->broken();
        }
        auto lease = co_await p->acquire();
        if (!lease) throw std::runtime_error(lease.error().message);
        auto r = co_await (*lease)->query("SELECT 1");
        if (!r) throw std::runtime_error(r.error().message);
        co_return std::tuple{first, broken, (*lease)->backend_pid()};
    }(pool));
    BOOST_TEST(broke);
    BOOST_TEST(first_pid != second_pid);
    BOOST_TEST(pool->stats().open == 1u);
    pool->stop();
}

BOOST_AUTO_TEST_SUITE_END()
