#include "server/postgres_node.hpp"

#include "backend/postgres_schema.hpp"
#include "metrics/text_format.hpp"
#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace taskd::server {
namespace net = boost::asio;

namespace {

// A maintenance pass releases and drops in bounded batches, so that one pass is a few short
// statements; a backlog is worked off over several passes.
constexpr std::size_t kExpireBatch = 1'000;
constexpr std::size_t kPurgeBatch = 10'000;

// The URL as logs may show it: without a password.
std::string redacted(const std::string& url) {
    const auto scheme = url.find("://");
    const auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon) + ":***" + url.substr(at);
}

}  // namespace

PostgresNode::PostgresNode(net::io_context& ioc, const Config& config, const model::Clock& clock)
    : ioc_(ioc),
      config_(config),
      clock_(clock),
      pool_(pg::Pool::create(ioc.get_executor(), config.database_url,
                             [&] {
                                 pg::Pool::Options options;
                                 options.size = config.database_pool;
                                 options.on_health_change = [url = redacted(config.database_url)](bool healthy) {
                                     if (healthy) util::log_info("database: reachable again at " + url);
                                     else util::log_warn("database: unreachable at " + url +
                                                         "; changes are answered 503 until it is back");
                                 };
                                 return options;
                             }())),
      backend_(ioc.get_executor(), pool_, clock),
      timer_(ioc) {
    backend_.set_limits(config.store);
    backend_.set_shared_claim_order(config.shared_claim_order);
}

PostgresNode::~PostgresNode() { stop(); }

void PostgresNode::start(api::Waiters& waiters, std::function<void()> ready, std::function<void(std::string)> refused) {
    waiters_ = &waiters;
    ready_ = std::move(ready);
    refused_ = std::move(refused);
    util::log_info("store: PostgreSQL at " + redacted(config_.database_url) + ", " +
                   std::to_string(config_.database_pool) + " connections at most");
    net::co_spawn(ioc_, prepare_schema(), net::detached);
}

void PostgresNode::stop() {
    if (stopping_.exchange(true)) return;
    net::post(timer_.get_executor(), [this] { timer_.cancel(); });
    backend_.stop();  // the wake-ups of delayed tasks
    {
        std::lock_guard lock(listener_mutex_);
        if (listener_) listener_->stop();
    }
    pool_->stop();
}

net::awaitable<void> PostgresNode::prepare_schema() {
    auto delay = std::chrono::milliseconds{100};
    for (int attempt = 1; !stopping_; ++attempt) {
        std::string why;
        auto connection = co_await pg::Connection::open(ioc_.get_executor(), config_.database_url);
        if (connection) {
            auto migrated = co_await backend::migrate(**connection);
            if (migrated) {
                if (migrated->found != migrated->now)
                    util::log_info("database: schema " + std::to_string(migrated->found) + " -> " +
                                   std::to_string(migrated->now));
                break;
            }
            if (migrated.error().newer) {
                refused_(migrated.error().message);
                co_return;
            }
            why = migrated.error().message;
        } else {
            why = connection.error().message;
        }
        util::log_warn("database: cannot prepare the schema (attempt " + std::to_string(attempt) + "): " + why +
                       "; retrying in " + std::to_string(delay.count()) + " ms");
        timer_.expires_after(delay);
        co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        delay = std::min(delay * 2, std::chrono::milliseconds{5000});
    }
    if (stopping_) co_return;

    // Every change that makes a task claimable NOTIFYs its tenant; wake one waiter of it here.
    // After a lost LISTEN connection notices may be gone: every waiter looks again.
    auto listener = pg::Listener::start(
        ioc_.get_executor(), config_.database_url, std::string(backend::kPendingChannel),
        [waiters = waiters_](std::string_view payload) {
            if (auto tenant = model::parse_uuid(payload)) waiters->notify(*tenant);
        },
        [waiters = waiters_](bool after_loss) {
            if (after_loss) waiters->wake_all();
        });
    {
        std::lock_guard lock(listener_mutex_);
        listener_ = std::move(listener);
        if (stopping_) listener_->stop();
    }
    ready_();
    co_await maintain();
}

net::awaitable<void> PostgresNode::maintain() {
    while (!stopping_) {
        timer_.expires_after(config_.maintenance.interval);
        co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        if (stopping_) break;
        auto expired = co_await backend_.expire_leases(kExpireBatch);
        if (expired && *expired > 0)
            util::log_info("leases: " + std::to_string(*expired) + " ran out; their tasks were re-queued or failed");
        auto orphaned = co_await backend_.release_orphaned(kExpireBatch);
        if (orphaned && *orphaned > 0)
            util::log_info("agents: " + std::to_string(*orphaned) +
                           " tasks held by deleted agents were re-queued or failed");
        co_await wake_sleepers();
        const auto cutoff = clock_.now() - std::chrono::duration_cast<std::chrono::microseconds>(config_.maintenance.retain);
        auto purged = co_await backend_.purge_finished(cutoff, kPurgeBatch);
        if (purged && *purged > 0)
            util::log_info("retention: dropped " + std::to_string(*purged) + " finished tasks older than --retain");
    }
}

net::awaitable<void> PostgresNode::wake_sleepers() {
    auto waiting = waiters_->waiting();
    if (waiting.tenants.empty() && !waiting.shared) co_return;
    auto claimable = co_await backend_.claimable_tenants(waiting.tenants, waiting.shared);
    if (!claimable) co_return;
    for (const auto& tenant : *claimable) waiters_->notify(tenant);
}

void PostgresNode::write_metrics(std::string& m) const {
    const auto stats = pool_->stats();
    metrics::write_family(m, "taskd_database_healthy", "gauge",
                          "1 while the database answers; 0 while it is unreachable (changes get 503).");
    metrics::write_sample(m, "taskd_database_healthy", "", std::uint64_t{pool_->healthy() ? 1u : 0u});
    metrics::write_family(m, "taskd_database_connections", "gauge", "Connections of this node's pool, by state.");
    metrics::write_sample(m, "taskd_database_connections", "state=\"open\"", static_cast<std::uint64_t>(stats.open));
    metrics::write_sample(m, "taskd_database_connections", "state=\"idle\"", static_cast<std::uint64_t>(stats.idle));
    metrics::write_family(m, "taskd_database_waiting", "gauge", "Requests waiting for a connection of the pool.");
    metrics::write_sample(m, "taskd_database_waiting", "", static_cast<std::uint64_t>(stats.waiting));
    metrics::write_family(m, "taskd_database_listening", "gauge",
                          "1 while this node LISTENs for tasks made claimable on other nodes.");
    bool listening = false;
    {
        std::lock_guard lock(listener_mutex_);
        listening = listener_ && listener_->listening();
    }
    metrics::write_sample(m, "taskd_database_listening", "", std::uint64_t{listening ? 1u : 0u});
}

}  // namespace taskd::server
