// Counting on hot paths without contention: each thread adds to one of kShards cache lines
// (a thread keeps its shard for life), and a reader sums them. Relaxed atomics, no lock: a
// reader's sum is a value the counter had at some moment during the read, which is all a
// scrape needs.
//
// Why not one atomic: claims and requests run on every core at once, and one shared counter's
// cache line moving between cores on each increment costs more than the work it counts on the
// claim path (BENCHMARKS.md, the claim micro-benchmark).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace taskd::metrics {

inline constexpr std::size_t kShards = 8;

// This thread's shard, 0 to kShards - 1.
std::size_t thread_shard();

class ShardedCounter {
public:
    void add(std::uint64_t n = 1) { shards_[thread_shard()].value.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t total() const {
        std::uint64_t sum = 0;
        for (const auto& s : shards_) sum += s.value.load(std::memory_order_relaxed);
        return sum;
    }

private:
    struct alignas(64) Shard {
        std::atomic<std::uint64_t> value{0};
    };
    std::array<Shard, kShards> shards_;
};

}  // namespace taskd::metrics
