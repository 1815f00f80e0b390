// pg::Connection against a real server: connecting, bound parameters, prepared statements,
// errors as values, the pipelined transaction, the per-command bound.
#include "pg/connection.hpp"
#include "pg_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <array>

namespace asio = boost::asio;
using namespace taskd;
using taskd::test::IoThreads;
using taskd::test::fresh_database;

namespace {

asio::awaitable<std::unique_ptr<pg::Connection>> connect(std::string url, pg::Connection::Options options = {}) {
    auto opened = co_await pg::Connection::open(co_await asio::this_coro::executor, std::move(url), options);
    if (!opened) throw std::runtime_error("cannot connect: " + opened.error().message);
    co_return std::move(*opened);
}

// The error of connecting to `url`, which must fail.
pg::Error open_error(IoThreads& io, std::string url) {
    return io.run([url = std::move(url)]() -> asio::awaitable<pg::Error> {
        auto opened = co_await pg::Connection::open(co_await asio::this_coro::executor, url);
        if (opened) throw std::runtime_error("connected to " + url);
        co_return opened.error();
    }());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connection)

BOOST_AUTO_TEST_CASE(connects_with_a_url_and_answers_a_query) {
    IoThreads io;
    const std::string url = fresh_database();
    auto [version, database] = io.run([](std::string u) -> asio::awaitable<std::pair<std::string, std::string>> {
        auto c = co_await connect(u);
        auto r = co_await c->query("SELECT current_setting('server_version_num'), current_database()");
        if (!r) throw std::runtime_error(r.error().message);
        co_return std::pair{std::string(r->text(0, 0)), std::string(r->text(0, 1))};
    }(url));
    BOOST_TEST(version >= "150000");
    BOOST_TEST(url.ends_with("/" + database));
}

BOOST_AUTO_TEST_CASE(an_unreachable_server_is_an_error_value) {
    IoThreads io;
    // Port 1 (tcpmux): nothing listens there on a test machine, so the connect is refused.
    const auto error = open_error(io, "postgresql://postgres@127.0.0.1:1/postgres");
    BOOST_TEST(error.connection_lost);
    BOOST_TEST(error.retryable());
    BOOST_TEST(error.message.find("cannot connect") != std::string::npos, error.message);
}

// Host names are resolved before libpq sees them (its getaddrinfo would block a thread): every
// address of a name is tried in order, as libpq would, so "localhost" reaches a server that
// listens on 127.0.0.1 only even where the name resolves to ::1 first.
BOOST_AUTO_TEST_CASE(a_host_name_is_resolved_and_each_of_its_addresses_tried) {
    IoThreads io;
    std::string url = fresh_database();
    const auto at = url.find("@127.0.0.1:");
    BOOST_TEST_REQUIRE(at != std::string::npos, url);
    url.replace(at, std::string("@127.0.0.1:").size(), "@localhost:");
    auto answer = io.run([url]() -> asio::awaitable<std::string> {
        auto c = co_await connect(url);
        auto rows = co_await c->query("SELECT 'hello from ' || current_database()");
        if (!rows) throw std::runtime_error(rows.error().message);
        co_return std::string(rows->text(0, 0));
    }());
    BOOST_TEST(answer.starts_with("hello from "));
}

BOOST_AUTO_TEST_CASE(a_host_name_that_does_not_resolve_is_an_error_value_naming_it) {
    IoThreads io;
    // .invalid never resolves (RFC 2606).
    const auto error = open_error(io, "postgresql://postgres@taskd-test.invalid:5432/postgres");
    BOOST_TEST(error.retryable());
    BOOST_TEST(error.message.find("cannot resolve host \"taskd-test.invalid\"") != std::string::npos, error.message);
}

BOOST_AUTO_TEST_CASE(values_are_bound_never_spliced_including_null_quotes_and_unicode) {
    IoThreads io;
    const std::string url = fresh_database();
    // A value that would break, or inject into, SQL built by concatenation.
    const std::string nasty = "it's \"quoted\" \\ back'slash'; DROP TABLE item; -- ✓ ünïcödé 日本 🎉";
    struct Seen {
        std::vector<std::optional<std::string>> values;
        std::size_t prepared_statements = 0;
        bool prepared_flag = false;
        std::uint64_t inserted = 0;
    };
    const Seen seen = io.run([](std::string u, std::string value) -> asio::awaitable<Seen> {
        auto c = co_await connect(u);
        auto created = co_await c->query("CREATE TABLE item (id integer PRIMARY KEY, body text)");
        if (!created) throw std::runtime_error(created.error().message);
        const pg::Statement insert{"insert_item", "INSERT INTO item (id, body) VALUES ($1, $2)"};
        Seen s;
        const std::array<pg::Param, 2> first{"1", value};
        const std::array<pg::Param, 2> second{"2", std::nullopt};
        for (const auto* params : {&first, &second}) {
            auto r = co_await c->execute(insert, *params);  // prepared on the first call only
            if (!r) throw std::runtime_error(r.error().message);
            s.inserted += r->affected();
        }
        s.prepared_flag = c->prepared("insert_item");
        auto count = co_await c->query("SELECT count(*) FROM pg_prepared_statements");
        if (!count) throw std::runtime_error(count.error().message);
        s.prepared_statements = std::stoul(std::string(count->text(0, 0)));
        const std::array<pg::Param, 1> ids{"{1,2}"};
        auto rows = co_await c->query("SELECT body FROM item WHERE id = ANY($1::int[]) ORDER BY id", ids);
        if (!rows) throw std::runtime_error(rows.error().message);
        for (std::size_t i = 0; i < rows->size(); ++i) {
            auto v = rows->get(i, 0);
            s.values.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
        }
        co_return s;
    }(url, nasty));
    BOOST_TEST(seen.inserted == 2u);
    BOOST_TEST(seen.prepared_flag);
    BOOST_TEST(seen.prepared_statements == 1u);
    BOOST_REQUIRE_EQUAL(seen.values.size(), 2u);
    BOOST_TEST(seen.values[0].value_or("<null>") == nasty);
    BOOST_TEST(!seen.values[1].has_value());
}

BOOST_AUTO_TEST_CASE(an_sql_error_is_a_value_and_the_connection_stays_usable) {
    IoThreads io;
    const std::string url = fresh_database();
    struct Seen {
        pg::Error syntax;
        pg::Error duplicate;
        bool broken = true;
        std::string after;
    };
    const Seen seen = io.run([](std::string u) -> asio::awaitable<Seen> {
        auto c = co_await connect(u);
        Seen s;
        auto bad = co_await c->query("SELEC 1");
        if (bad) throw std::runtime_error("bad SQL succeeded");
        s.syntax = bad.error();
        (void)co_await c->query("CREATE TABLE k (id int PRIMARY KEY)");
        const std::array<pg::Param, 1> one{"1"};
        (void)co_await c->query("INSERT INTO k VALUES ($1)", one);
        auto dup = co_await c->query("INSERT INTO k VALUES ($1)", one);
        if (dup) throw std::runtime_error("duplicate key accepted");
        s.duplicate = dup.error();
        s.broken = c->broken();
        auto after = co_await c->query("SELECT 'still here'");
        if (!after) throw std::runtime_error(after.error().message);
        s.after = after->text(0, 0);
        co_return s;
    }(url));
    BOOST_TEST(seen.syntax.sqlstate == "42601");  // syntax_error
    BOOST_TEST(!seen.syntax.connection_lost);
    BOOST_TEST(!seen.syntax.retryable());
    BOOST_TEST(seen.syntax.message.find("SELEC") != std::string::npos, seen.syntax.message);
    BOOST_TEST(seen.duplicate.unique_violation());
    BOOST_TEST(!seen.broken);
    BOOST_TEST(seen.after == "still here");
}

BOOST_AUTO_TEST_CASE(a_nul_byte_in_a_value_is_refused_before_sending) {
    IoThreads io;
    const std::string url = fresh_database();
    auto error = io.run([](std::string u) -> asio::awaitable<pg::Error> {
        auto c = co_await connect(u);
        const std::string with_nul("a\0b", 3);
        const std::array<pg::Param, 1> p{with_nul};
        auto r = co_await c->query("SELECT $1::text", p);
        if (r) throw std::runtime_error("a NUL byte went through");
        auto after = co_await c->query("SELECT 1");
        if (!after) throw std::runtime_error(after.error().message);
        co_return r.error();
    }(url));
    BOOST_TEST(error.sqlstate == "22021");
}

BOOST_AUTO_TEST_CASE(a_transaction_is_pipelined_and_all_or_nothing) {
    IoThreads io;
    const std::string url = fresh_database();
    struct Seen {
        std::vector<std::string> returned;
        pg::Error failure;
        std::string count_after_failure;
        bool broken = true;
    };
    const Seen seen = io.run([](std::string u) -> asio::awaitable<Seen> {
        auto c = co_await connect(u);
        (void)co_await c->query("CREATE TABLE acc (id int PRIMARY KEY, n int NOT NULL)");
        const pg::Statement insert{"acc_insert", "INSERT INTO acc VALUES ($1, $2) RETURNING id"};
        const pg::Statement total{"acc_total", "SELECT sum(n)::text FROM acc"};
        Seen s;
        const std::vector<pg::Connection::Step> good{
            {insert, {"1", "10"}}, {insert, {"2", "20"}}, {total, {}}};
        auto ok = co_await c->transaction(good);
        if (!ok) throw std::runtime_error(ok.error().message);
        for (const auto& rows : *ok) s.returned.emplace_back(rows.empty() ? "" : rows.text(0, 0));
        // The second step violates the key: the first must be rolled back with it.
        const std::vector<pg::Connection::Step> bad{{insert, {"3", "30"}}, {insert, {"1", "99"}}, {total, {}}};
        auto failed = co_await c->transaction(bad);
        if (failed) throw std::runtime_error("a failing transaction succeeded");
        s.failure = failed.error();
        s.broken = c->broken();
        auto count = co_await c->query("SELECT count(*) FROM acc");
        if (!count) throw std::runtime_error(count.error().message);
        s.count_after_failure = count->text(0, 0);
        co_return s;
    }(url));
    BOOST_TEST((seen.returned == std::vector<std::string>{"1", "2", "30"}));
    BOOST_TEST(seen.failure.unique_violation());
    BOOST_TEST(!seen.broken);
    BOOST_TEST(seen.count_after_failure == "2");
}

BOOST_AUTO_TEST_CASE(a_command_past_its_bound_fails_and_breaks_the_connection) {
    IoThreads io;
    const std::string url = fresh_database();
    pg::Connection::Options options;
    options.query_timeout = std::chrono::milliseconds{300};
    auto [error, broken] = io.run([](std::string u, pg::Connection::Options o) -> asio::awaitable<std::pair<pg::Error, bool>> {
        auto c = co_await connect(u, o);
        // Far longer than the bound; the server-side sleep ends with the session.
        auto r = co_await c->query("SELECT pg_sleep(30)");
        if (r) throw std::runtime_error("pg_sleep(30) answered within 300 ms");
        co_return std::pair{r.error(), c->broken()};
    }(url, options));
    BOOST_TEST(error.connection_lost);
    BOOST_TEST(error.message.find("within 300 ms") != std::string::npos, error.message);
    BOOST_TEST(broken);
}

BOOST_AUTO_TEST_SUITE_END()
