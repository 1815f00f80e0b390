// bench/histogram: bucket arithmetic, and percentiles against distributions whose true
// quantiles are known exactly (sorted samples), within the promised resolution of 1/256.
#include "bench/histogram.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using taskd::bench::Histogram;

namespace {

constexpr double kResolution = 1.0 / (1u << Histogram::kSubBucketBits);

// The exact quantile of a sorted sample, by the same rule the histogram uses: the smallest
// value with at least q * n samples at or below it.
std::uint64_t exact_quantile(const std::vector<std::uint64_t>& sorted, double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size()) - 1e-9));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

// Reported values may exceed the true one by at most one bucket's width, never fall below it.
void check_quantiles(const Histogram& h, std::vector<std::uint64_t> samples) {
    std::sort(samples.begin(), samples.end());
    for (double q : {0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999}) {
        const auto truth = exact_quantile(samples, q);
        const auto got = h.value_at_quantile(q);
        BOOST_TEST_CONTEXT("q=" << q << " truth=" << truth << " got=" << got) {
            BOOST_TEST(got >= truth);
            BOOST_TEST(static_cast<double>(got - truth) <= kResolution * static_cast<double>(truth) + 1.0);
        }
    }
    BOOST_TEST(h.value_at_quantile(1.0) == samples.back());
    BOOST_TEST(h.min() == samples.front());
    BOOST_TEST(h.max() == samples.back());
    BOOST_TEST(h.count() == samples.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bench_histogram)

BOOST_AUTO_TEST_CASE(empty_histogram_answers_zero) {
    Histogram h;
    BOOST_TEST(h.count() == 0u);
    BOOST_TEST(h.value_at_quantile(0.5) == 0u);
    BOOST_TEST(h.value_at_quantile(1.0) == 0u);
    BOOST_TEST(h.min() == 0u);
    BOOST_TEST(h.max() == 0u);
    BOOST_TEST(h.mean() == 0.0);
}

BOOST_AUTO_TEST_CASE(small_values_are_exact) {
    Histogram h;
    for (std::uint64_t v = 0; v < 512; ++v) h.record(v);
    for (std::uint64_t v = 0; v < 512; ++v) {
        BOOST_TEST(Histogram::bucket_of(v) == v);
        BOOST_TEST(Histogram::lowest_in_bucket(v) == v);
        BOOST_TEST(Histogram::highest_in_bucket(v) == v);
    }
    BOOST_TEST(h.value_at_quantile(0.5) == 255u);  // rank 256 of 512
    BOOST_TEST(h.value_at_quantile(1.0) == 511u);
}

BOOST_AUTO_TEST_CASE(buckets_cover_every_value_within_the_resolution) {
    // Every bucket's range holds the values mapped to it, is no wider than 1/256 of its lowest
    // value, and the next bucket starts right after it: no gaps, no overlaps, up to 2^64-1.
    for (std::size_t b = 0; b + 1 < Histogram::bucket_count(); ++b) {
        const auto lo = Histogram::lowest_in_bucket(b);
        const auto hi = Histogram::highest_in_bucket(b);
        BOOST_TEST_REQUIRE(Histogram::bucket_of(lo) == b);
        BOOST_TEST_REQUIRE(Histogram::bucket_of(hi) == b);
        BOOST_TEST_REQUIRE(Histogram::lowest_in_bucket(b + 1) == hi + 1);
        BOOST_TEST_REQUIRE(static_cast<double>(hi - lo) <= kResolution * static_cast<double>(lo));
    }
    BOOST_TEST(Histogram::highest_in_bucket(Histogram::bucket_count() - 1) == UINT64_MAX);
    BOOST_TEST(Histogram::bucket_of(UINT64_MAX) == Histogram::bucket_count() - 1);
}

BOOST_AUTO_TEST_CASE(uniform_distribution) {
    Histogram h;
    std::vector<std::uint64_t> samples;
    for (std::uint64_t v = 1; v <= 100'000; ++v) {
        h.record(v);
        samples.push_back(v);
    }
    check_quantiles(h, samples);
    BOOST_TEST(h.mean() == 50'000.5, boost::test_tools::tolerance(1e-9));
    // The figures a reader checks by eye: p50 of 1..100000 is 50000, p99 is 99000.
    BOOST_TEST(h.value_at_quantile(0.5) >= 50'000u);
    BOOST_TEST(h.value_at_quantile(0.5) <= 50'000u + 50'000u / 256);
    BOOST_TEST(h.value_at_quantile(0.99) >= 99'000u);
    BOOST_TEST(h.value_at_quantile(0.99) <= 99'000u + 99'000u / 256);
}

BOOST_AUTO_TEST_CASE(exponential_latencies_in_nanoseconds) {
    // Latency-like: mean 2 ms, a long tail; fixed seed so that a failure reproduces.
    std::mt19937_64 rng(20261127);
    std::exponential_distribution<double> exp(1.0 / 2e6);
    Histogram h;
    std::vector<std::uint64_t> samples;
    for (int i = 0; i < 200'000; ++i) {
        const auto v = static_cast<std::uint64_t>(exp(rng)) + 1;
        h.record(v);
        samples.push_back(v);
    }
    check_quantiles(h, samples);
}

BOOST_AUTO_TEST_CASE(bimodal_distribution_with_a_rare_slow_mode) {
    // 99.5 % fast (~100 us), 0.5 % slow (~50 ms: an fsync stall): p99 must be fast, p99.9 slow.
    std::mt19937_64 rng(7);
    std::normal_distribution<double> fast(100'000, 10'000), slow(50'000'000, 5'000'000);
    std::bernoulli_distribution is_slow(0.005);
    Histogram h;
    std::vector<std::uint64_t> samples;
    for (int i = 0; i < 100'000; ++i) {
        const double x = is_slow(rng) ? slow(rng) : fast(rng);
        const auto v = static_cast<std::uint64_t>(std::max(1.0, x));
        h.record(v);
        samples.push_back(v);
    }
    check_quantiles(h, samples);
    BOOST_TEST(h.value_at_quantile(0.99) < 1'000'000u);
    BOOST_TEST(h.value_at_quantile(0.999) > 10'000'000u);
}

BOOST_AUTO_TEST_CASE(quantile_ranks_that_are_whole_numbers_do_not_round_up) {
    Histogram h;
    for (std::uint64_t v = 1; v <= 10; ++v) h.record(v);
    BOOST_TEST(h.value_at_quantile(0.9) == 9u);  // 0.9 * 10 is 9, not a hair above
    BOOST_TEST(h.value_at_quantile(0.1) == 1u);
    BOOST_TEST(h.value_at_quantile(0.5) == 5u);
    BOOST_TEST(h.value_at_quantile(0.91) == 10u);
}

BOOST_AUTO_TEST_CASE(weighted_records_and_merge_equal_recording_everything_in_one) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::uint64_t> dist(1, 1'000'000'000);
    Histogram a, b, all;
    for (int i = 0; i < 10'000; ++i) {
        const auto v = dist(rng);
        ((i % 3 == 0) ? a : b).record(v);
        all.record(v);
    }
    a.record(123'456, 500);
    for (int i = 0; i < 500; ++i) all.record(123'456);
    a.merge(b);
    BOOST_TEST(a.count() == all.count());
    BOOST_TEST(a.min() == all.min());
    BOOST_TEST(a.max() == all.max());
    BOOST_TEST(a.mean() == all.mean(), boost::test_tools::tolerance(1e-12));
    for (double q : {0.01, 0.5, 0.9, 0.99, 0.999}) BOOST_TEST(a.value_at_quantile(q) == all.value_at_quantile(q));
}

BOOST_AUTO_TEST_CASE(extreme_values_and_reset) {
    Histogram h;
    h.record(0);
    h.record(UINT64_MAX);
    BOOST_TEST(h.value_at_quantile(0.5) == 0u);
    BOOST_TEST(h.value_at_quantile(1.0) == UINT64_MAX);
    BOOST_TEST(h.value_at_quantile(0.75) == UINT64_MAX);  // clamped to max, not past it
    h.reset();
    BOOST_TEST(h.count() == 0u);
    BOOST_TEST(h.value_at_quantile(0.5) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
