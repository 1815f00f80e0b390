// BatchChannel<T>: items handed from one thread to another, in order, a batch at a time.
//
// For work split into two stages on two cores (recovery decodes records on one thread and
// applies them on another).
// Handing items over one by one would cost a lock and a wake-up each; a batch of thousands
// costs one. At most `max_waiting` full batches wait: a producer that runs ahead blocks, so
// memory stays bounded when the consumer is the slower stage.
//
// Thread-safety: one producer thread (push, close) and one consumer thread (pop).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace taskd::util {

template <class T>
class BatchChannel {
public:
    BatchChannel(std::size_t batch_size, std::size_t max_waiting) : batch_size_(batch_size), max_waiting_(max_waiting) {
        filling_.reserve(batch_size_);
    }

    void push(T item) {
        filling_.push_back(std::move(item));
        if (filling_.size() >= batch_size_) hand_over();
    }

    // Hands over what is left; pop() answers nullopt once everything before is taken.
    void close() {
        if (!filling_.empty()) hand_over();
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        changed_.notify_all();
    }

    // The next batch, waiting for one; nullopt when the channel is closed and empty.
    std::optional<std::vector<T>> pop() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !waiting_.empty() || closed_; });
        if (waiting_.empty()) return std::nullopt;
        std::vector<T> batch = std::move(waiting_.front());
        waiting_.pop_front();
        lock.unlock();
        changed_.notify_all();  // a producer may be waiting for room
        return batch;
    }

private:
    void hand_over() {
        std::vector<T> next;
        next.reserve(batch_size_);
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return waiting_.size() < max_waiting_; });
            waiting_.push_back(std::exchange(filling_, std::move(next)));
        }
        changed_.notify_all();
    }

    const std::size_t batch_size_;
    const std::size_t max_waiting_;
    std::vector<T> filling_;  // the producer's own
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::vector<T>> waiting_;
    bool closed_ = false;
};

}  // namespace taskd::util
