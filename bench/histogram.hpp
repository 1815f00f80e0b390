// Histogram: a latency histogram in the manner of HdrHistogram, with a fixed memory footprint.
//
// Values (nanoseconds, or any unsigned count) go into log-linear buckets: every power of two
// is split into 2^kSubBucketBits equal sub-buckets, so a reported value is never more than
// 1/2^kSubBucketBits (0.4 %) above the value recorded, over the whole range of 64-bit values.
// Values below 2^kSubBucketBits are kept exactly. The bucket array is allocated once, in the
// constructor: recording never allocates, however many samples a run takes (a vector of samples
// would grow to gigabytes in a long run at 100,000 requests per second, and its growth would
// show up in the latencies it measures).
//
// Not thread-safe: each load thread records into its own histogram; merge() them at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace taskd::bench {

class Histogram {
public:
    // 256 sub-buckets per power of two: 0.4 % resolution, 57 * 256 counters (117 KiB).
    static constexpr unsigned kSubBucketBits = 8;

    Histogram();

    void record(std::uint64_t value) { record(value, 1); }
    void record(std::uint64_t value, std::uint64_t count);
    // Adds every sample of `other` (same bucket layout by construction).
    void merge(const Histogram& other);
    void reset();

    std::uint64_t count() const { return count_; }
    // Exact extremes and mean of what was recorded; 0 when empty.
    std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
    std::uint64_t max() const { return max_; }
    double mean() const;

    // The value at quantile `q` (0 < q <= 1; 0.99 for p99): the smallest recorded value v such
    // that at least q * count() samples are <= v, reported as the highest value of v's bucket
    // (never above max()). q = 1 is max() exactly; an empty histogram answers 0.
    std::uint64_t value_at_quantile(double q) const;

    // Bucket arithmetic, public for tests.
    static std::size_t bucket_of(std::uint64_t value);
    static std::uint64_t lowest_in_bucket(std::size_t bucket);
    static std::uint64_t highest_in_bucket(std::size_t bucket);
    static std::size_t bucket_count();

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
    // Sum in long double: 2^64 ns is 584 years, but a sum of many samples can pass it.
    long double sum_ = 0;
};

}  // namespace taskd::bench
