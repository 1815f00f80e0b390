#include "backend/postgres_notices.hpp"

#include "util/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace taskd::backend {

namespace {
// One notifying transaction for any number of tenants: $1 is the channel, $2 a text[] of them.
constexpr pg::Statement kNotify{"taskd_notify_pending", "SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t"};
}  // namespace

void PendingNotices::add(const model::Uuid& tenant) {
    {
        std::lock_guard lock(mutex_);
        tenants_.insert(tenant);
        if (sending_) return;  // the running send() takes it on its next turn
        sending_ = true;
    }
    boost::asio::co_spawn(executor_, send(shared_from_this()), boost::asio::detached);
}

// `self` keeps this alive while a statement is in flight.
boost::asio::awaitable<void> PendingNotices::send(std::shared_ptr<PendingNotices> /*self*/) {
    for (;;) {
        std::string array;
        {
            std::lock_guard lock(mutex_);
            if (tenants_.empty()) {
                sending_ = false;
                co_return;
            }
            array = uuid_array(tenants_);
            tenants_.clear();
        }
        auto lease = co_await pool_->acquire();
        if (!lease) continue;  // the pool is down: the listener's loss wakes every waiter
        const pg::Param params[] = {channel_, array};
        if (auto sent = co_await (*lease)->execute(kNotify, params); !sent && !sent.error().retryable())
            util::log_error("database: NOTIFY failed: " + sent.error().sqlstate + " " + sent.error().message);
    }
}

}  // namespace taskd::backend
