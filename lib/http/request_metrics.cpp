#include "http/request_metrics.hpp"

#include "metrics/sharded.hpp"
#include "metrics/text_format.hpp"

#include <algorithm>

namespace taskd::http {

RequestMetrics::RequestMetrics(const std::vector<Router::RouteName>& routes) : routes_(routes) {
    routes_.push_back({Method::other, "-"});
    // Each shard is its own allocation: two threads never write one cache line.
    for (std::size_t i = 0; i < metrics::kShards; ++i) shards_.push_back(std::make_unique<Shard>(routes_.size()));
}

std::size_t RequestMetrics::status_slot(unsigned status) {
    const auto* end = kStatuses.end() - 1;
    const auto* it = std::find(kStatuses.begin(), end, status);
    return static_cast<std::size_t>(it - kStatuses.begin());  // the last slot when not found
}

void RequestMetrics::record(std::size_t route, unsigned status, std::chrono::nanoseconds duration) {
    if (route >= routes_.size() - 1) route = routes_.size() - 1;
    Shard& shard = *shards_[metrics::thread_shard()];
    shard.counts[route * kStatuses.size() + status_slot(status)].fetch_add(1, std::memory_order_relaxed);
    shard.durations[route].observe(duration);
}

void RequestMetrics::write(std::string& out) const {
    auto labels_of = [](const Router::RouteName& r) {
        std::string l = "method=\"";
        l += r.pattern == "-" ? std::string_view("-") : to_string(r.method);
        l += "\",route=";
        metrics::append_label_value(l, r.pattern);
        return l;
    };
    metrics::write_family(out, "taskd_http_requests_total", "counter",
                          "HTTP requests answered, by route (the pattern that served it; - for none) and status.");
    for (std::size_t r = 0; r < routes_.size(); ++r) {
        for (std::size_t s = 0; s < kStatuses.size(); ++s) {
            std::uint64_t n = 0;
            for (const auto& shard : shards_) n += shard->counts[r * kStatuses.size() + s].load(std::memory_order_relaxed);
            if (n == 0) continue;
            std::string l = labels_of(routes_[r]);
            l += ",status=\"";
            l += kStatuses[s] == 0 ? std::string("other") : std::to_string(kStatuses[s]);
            l += '"';
            metrics::write_sample(out, "taskd_http_requests_total", l, n);
        }
    }
    metrics::write_family(out, "taskd_http_request_duration_seconds", "histogram",
                          "Time from the start of reading a request to the end of its answer, by route.");
    for (std::size_t r = 0; r < routes_.size(); ++r) {
        std::array<std::uint64_t, metrics::Histogram::kBounds.size() + 1> buckets{};
        std::uint64_t sum_ns = 0;
        bool any = false;
        for (const auto& shard : shards_) {
            any = any || !shard->durations[r].empty();
            shard->durations[r].add_to(buckets, sum_ns);
        }
        if (any) metrics::write_histogram(out, "taskd_http_request_duration_seconds", labels_of(routes_[r]), buckets, sum_ns);
    }
}

}  // namespace taskd::http
