// ChangeLog: where the store sends one record per change, and how a request waits until its
// change is durable.
//
// The store calls append() while it holds its lock: exclusively for most changes, shared for a
// claim (which has won its task by compare-and-swap first, so no other change to that task can
// come between). Either way the log's order for each task is the order in which its changes
// were applied. The handler then waits, outside every lock, for the record's sequence number to
// become durable (journal/writer does group commit; MemoryLog is for tests and keeps records
// in memory). Thread-safe: appends from many threads at once are what claims do.
#pragma once

#include "journal/record.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace taskd::journal {

// A request waiting for its record: the completion, and the executor it must run on (its
// connection's: a strand of its own when the server runs more than one thread). Completions are always posted there, never run by the thread that
// notices durability (the writer thread).
struct DurableWaiter {
    boost::asio::any_io_executor executor;
    boost::asio::any_completion_handler<void(boost::system::error_code)> handler;
};

class ChangeLog {
public:
    virtual ~ChangeLog() = default;

    // Assigns the next sequence number to the record and queues it; returns the number.
    virtual std::uint64_t append(RecordType type, std::string_view payload) = 0;
    // The last sequence number assigned.
    virtual std::uint64_t last_sequence() const = 0;
    // False once a write or sync has failed: the log takes no more records (sticky, until a
    // restart), and the store refuses changes.
    virtual bool healthy() const = 0;
    // Why the log is not healthy, for the operator (logs, /readyz) and 503 answers.
    virtual std::string failure() const { return {}; }
    // Completes `handler` (on its own executor) once record `sequence` is durable, or with an
    // error if the log failed before that.
    virtual void wait_durable(std::uint64_t sequence, DurableWaiter waiter) = 0;
};

// co_await async_wait_durable(log, seq, use_awaitable)
template <class Token>
auto async_wait_durable(ChangeLog& log, std::uint64_t sequence, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [&log, sequence](auto handler) {
            boost::asio::any_io_executor executor = boost::asio::get_associated_executor(handler);
            log.wait_durable(sequence, DurableWaiter{std::move(executor), std::move(handler)});
        },
        token);
}

// Posts the waiter's completion with `ec` to its executor.
void complete_later(DurableWaiter waiter, boost::system::error_code ec);

// Keeps the framed records in memory: every record is "durable" at once. For tests (replay a
// store's changes into another) and for tools.
class MemoryLog final : public ChangeLog {
public:
    std::uint64_t append(RecordType type, std::string_view payload) override;
    std::uint64_t last_sequence() const override;
    bool healthy() const override { return true; }
    void wait_durable(std::uint64_t sequence, DurableWaiter waiter) override;

    std::string records() const;  // the framed records so far, as a segment would hold them

private:
    mutable std::mutex mutex_;
    std::uint64_t last_sequence_ = 0;
    std::string records_;
};

}  // namespace taskd::journal
