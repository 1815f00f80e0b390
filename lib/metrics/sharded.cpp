#include "metrics/sharded.hpp"

namespace taskd::metrics {

std::size_t thread_shard() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return shard;
}

}  // namespace taskd::metrics
