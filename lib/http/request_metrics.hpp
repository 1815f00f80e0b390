// RequestMetrics: answered requests counted by route and status, and their durations by route,
// for GET /metrics (taskd_http_requests_total, taskd_http_request_duration_seconds).
//
// record() is on every request's path: it adds to this thread's shard (metrics/sharded), two
// relaxed atomic increments and a bucket search, no lock. write() sums the shards.
// Thread-safety: record() and write() from any thread.
#pragma once

#include "http/router.hpp"
#include "metrics/histogram.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace taskd::http {

class RequestMetrics {
public:
    // The router's routes(); requests that no route served are counted as route "-".
    explicit RequestMetrics(const std::vector<Router::RouteName>& routes);

    // `route`: Router::Match::route_index, or Router::kNoRoute.
    void record(std::size_t route, unsigned status, std::chrono::nanoseconds duration);
    void write(std::string& out) const;

private:
    // Every status taskd answers, and a last slot for any other.
    static constexpr std::array<unsigned, 16> kStatuses = {200, 201, 204, 400, 401, 403, 404, 405,
                                                           409, 413, 422, 429, 431, 500, 503, 0};
    static std::size_t status_slot(unsigned status);

    struct Shard {
        explicit Shard(std::size_t routes) : counts(routes * kStatuses.size()), durations(routes) {}
        std::vector<std::atomic<std::uint64_t>> counts;  // [route][status slot]
        std::vector<metrics::Histogram> durations;       // [route]
    };

    std::vector<Router::RouteName> routes_;  // and "-" last
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace taskd::http
