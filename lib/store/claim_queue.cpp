#include "store/claim_queue.hpp"

#include <algorithm>

namespace taskd::store {
namespace {
// Spent entries are dropped once there are this many and they are most of the array: the
// memmove is then paid for by the pops that made them.
constexpr std::uint64_t kCompactAfter = 4096;
}  // namespace

void ClaimQueue::clamp() {
    // Claimers that found the queue empty as it ran out may have moved head_ past the end.
    if (head_.load(std::memory_order_relaxed) > items_.size()) head_.store(items_.size(), std::memory_order_relaxed);
}

void ClaimQueue::compact() {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head < kCompactAfter || head * 2 < items_.size()) return;
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head));
    head_.store(0, std::memory_order_relaxed);
}

void ClaimQueue::push(TaskSlot* slot) {
    clamp();
    compact();
    const auto head = static_cast<std::ptrdiff_t>(head_.load(std::memory_order_relaxed));
    if (items_.size() == static_cast<std::size_t>(head) || items_.back()->key < slot->key) {
        items_.push_back(slot);
    } else {
        // Same created_at as the last (ties go by id), or a clock that stepped back: keep the
        // queue in (created_at, id) order, the order the indices and a recovered queue have.
        auto at = std::upper_bound(items_.begin() + head, items_.end(), slot->key,
                                   [](const TaskKey& key, const TaskSlot* s) { return key < s->key; });
        items_.insert(at, slot);
    }
    size_.store(items_.size(), std::memory_order_release);
}

void ClaimQueue::put_back(TaskSlot* slot) {
    clamp();
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    // The entries still to pop are in created_at order; find the first one younger.
    auto first = items_.begin() + static_cast<std::ptrdiff_t>(head);
    auto at = std::upper_bound(first, items_.end(), slot->key,
                               [](const TaskKey& key, const TaskSlot* s) { return key < s->key; });
    if (at != first && *(at - 1) == slot) return;  // still waiting at its place
    if (at == first && head > 0) {
        items_[head - 1] = slot;  // the usual case: older than every waiting entry
        head_.store(head - 1, std::memory_order_relaxed);
        return;
    }
    items_.insert(at, slot);
    size_.store(items_.size(), std::memory_order_release);
}

std::uint64_t ClaimQueue::waiting() const {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    return head >= items_.size() ? 0 : items_.size() - head;
}

void ClaimQueue::trim() {
    clamp();
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (items_.capacity() <= 2 * (items_.size() - head) + kCompactAfter) return;
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head));
    items_.shrink_to_fit();
    head_.store(0, std::memory_order_relaxed);
    size_.store(items_.size(), std::memory_order_release);
}

void ClaimQueue::clear() {
    items_.clear();
    head_.store(0, std::memory_order_relaxed);
    size_.store(0, std::memory_order_release);
}

}  // namespace taskd::store
