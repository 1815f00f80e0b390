// PendingNotices: the NOTIFYs that wake other nodes' long polls, sent beside the changes that
// make tasks claimable rather than inside their transactions.
//
// Why not in the change's own transaction: PostgreSQL 15 commits a transaction that NOTIFYs
// under one lock for the whole cluster, held through its commit's flush, so when every create
// notified, creates committed one at a time instead of sharing flushes (group commit): the same
// lifecycle run made 43 % more without it (doc/postgres.md). Here a change commits first, then
// add() its tenant; one statement at a time sends every tenant added meanwhile, each once. Under
// load that is one notifying commit per flush for all the creates of that flush; idle, a notice
// leaves at once, a round trip after the change committed.
//
// What it gives up: a node killed between a change's commit and its notice leaves other nodes'
// long polls asleep; PostgresNode's maintenance pass wakes waiters of tenants with claimable
// tasks every second (a waiter that finds nothing waits on), so such a task waits a second at
// most, and is never lost. A notice that fails to send (the database went away) is dropped:
// the listener's lost connection wakes every waiter.
//
// Thread-safety: add() from any thread.
#pragma once

#include "model/uuid.hpp"
#include "pg/pool.hpp"
#include "store/task_key.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

namespace taskd::backend {

// PostgreSQL's text form of an array of uuids ("{a,b}"), for one parameter ($n::text[] or
// ::uuid[]) that carries them all.
template <class Uuids>
std::string uuid_array(const Uuids& ids) {
    std::string out = "{";
    for (const auto& id : ids) {
        if (out.size() > 1) out += ',';
        out += model::to_string(id);
    }
    return out + '}';
}

class PendingNotices : public std::enable_shared_from_this<PendingNotices> {
public:
    PendingNotices(boost::asio::any_io_executor executor, std::shared_ptr<pg::Pool> pool, std::string channel)
        : executor_(std::move(executor)), pool_(std::move(pool)), channel_(std::move(channel)) {}

    // A task of `tenant` became claimable and is committed: tell every node.
    void add(const model::Uuid& tenant);

private:
    boost::asio::awaitable<void> send(std::shared_ptr<PendingNotices> self);

    boost::asio::any_io_executor executor_;
    std::shared_ptr<pg::Pool> pool_;
    const std::string channel_;
    std::mutex mutex_;
    std::unordered_set<model::Uuid, store::UuidHash> tenants_;  // to notify next
    bool sending_ = false;                                       // send() runs
};

}  // namespace taskd::backend
