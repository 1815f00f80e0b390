#include "journal/change_log.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

namespace taskd::journal {

void complete_later(DurableWaiter waiter, boost::system::error_code ec) {
    // Posted, never invoked here: the caller may be the writer thread, and a coroutine must
    // resume on its own executor (its connection's).
    boost::asio::post(waiter.executor, [handler = std::move(waiter.handler), ec]() mutable { std::move(handler)(ec); });
}

std::uint64_t MemoryLog::append(RecordType type, std::string_view payload) {
    std::lock_guard lock(mutex_);
    append_record(records_, type, ++last_sequence_, payload);
    return last_sequence_;
}

std::uint64_t MemoryLog::last_sequence() const {
    std::lock_guard lock(mutex_);
    return last_sequence_;
}

void MemoryLog::wait_durable(std::uint64_t, DurableWaiter waiter) { complete_later(std::move(waiter), {}); }

std::string MemoryLog::records() const {
    std::lock_guard lock(mutex_);
    return records_;
}

}  // namespace taskd::journal
