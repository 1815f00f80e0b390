#include "bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace taskd::bench {

namespace {

constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << Histogram::kSubBucketBits;
// Values 0 .. 2*kSubBuckets-1 are exact; each further power of two adds kSubBuckets buckets,
// up to the one holding 2^63 .. 2^64-1.
constexpr std::size_t kBuckets = (64 - Histogram::kSubBucketBits + 1) * kSubBuckets;

}  // namespace

Histogram::Histogram() : counts_(kBuckets, 0) {}

std::size_t Histogram::bucket_count() { return kBuckets; }

std::size_t Histogram::bucket_of(std::uint64_t value) {
    if (value < kSubBuckets) return static_cast<std::size_t>(value);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(value));
    const unsigned shift = msb - kSubBucketBits;
    const std::uint64_t sub = (value >> shift) - kSubBuckets;  // 0 .. kSubBuckets-1
    return static_cast<std::size_t>((shift + 1) * kSubBuckets + sub);
}

std::uint64_t Histogram::lowest_in_bucket(std::size_t bucket) {
    if (bucket < kSubBuckets) return bucket;
    const std::uint64_t shift = bucket / kSubBuckets - 1;
    const std::uint64_t sub = bucket % kSubBuckets;
    return (kSubBuckets + sub) << shift;
}

std::uint64_t Histogram::highest_in_bucket(std::size_t bucket) {
    if (bucket < kSubBuckets) return bucket;
    const std::uint64_t shift = bucket / kSubBuckets - 1;
    return lowest_in_bucket(bucket) + ((std::uint64_t{1} << shift) - 1);
}

void Histogram::record(std::uint64_t value, std::uint64_t count) {
    if (count == 0) return;
    counts_[bucket_of(value)] += count;
    count_ += count;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    sum_ += static_cast<long double>(value) * static_cast<long double>(count);
}

void Histogram::merge(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

void Histogram::reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    min_ = UINT64_MAX;
    max_ = 0;
    sum_ = 0;
}

double Histogram::mean() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t Histogram::value_at_quantile(double q) const {
    if (count_ == 0) return 0;
    if (q >= 1.0) return max_;
    q = std::max(q, 0.0);
    // The rank of the sample asked for, 1-based. The small subtraction keeps a product that
    // should be a whole number (0.9 * 10) from rounding up to the next rank.
    const long double exact = static_cast<long double>(q) * static_cast<long double>(count_);
    auto rank = static_cast<std::uint64_t>(std::ceil(exact - 1e-9L));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::min(highest_in_bucket(i), max_);
    }
    return max_;  // unreachable: the counts add up to count_
}

}  // namespace taskd::bench
