// Histogram: durations counted into fixed buckets, as a Prometheus histogram reports them
// (cumulative `le` buckets, `_sum` in seconds, `_count`). One writer or many: relaxed atomics,
// no lock. The bounds suit what taskd times: a request (tens of microseconds to the 60 s of a
// long poll) and an fdatasync (a fraction of a millisecond to seconds on a failing disk).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace taskd::metrics {

class Histogram {
public:
    // Upper bounds in seconds; +Inf is implied.
    static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                       0.025,  0.05,    0.1,    0.25,  1,      5,     30};

    void observe(std::chrono::nanoseconds d) {
        const double seconds = std::chrono::duration<double>(d).count();
        std::size_t i = 0;
        while (i < kBounds.size() && seconds > kBounds[i]) ++i;
        buckets_[i].fetch_add(1, std::memory_order_relaxed);
        sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()), std::memory_order_relaxed);
    }
    // Adds this histogram's counts to `into` (to sum shards before writing).
    void add_to(std::array<std::uint64_t, kBounds.size() + 1>& into, std::uint64_t& sum_ns) const {
        for (std::size_t i = 0; i < buckets_.size(); ++i) into[i] += buckets_[i].load(std::memory_order_relaxed);
        sum_ns += sum_ns_.load(std::memory_order_relaxed);
    }
    bool empty() const {
        for (const auto& b : buckets_)
            if (b.load(std::memory_order_relaxed) != 0) return false;
        return true;
    }

private:
    std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

// Writes the `_bucket`, `_sum` and `_count` lines of histogram `name` whose other labels are
// `labels` ("route=\"/x\"", or empty).
void write_histogram(std::string& out, std::string_view name, std::string_view labels,
                     const std::array<std::uint64_t, Histogram::kBounds.size() + 1>& buckets, std::uint64_t sum_ns);

}  // namespace taskd::metrics
