#include "metrics/histogram.hpp"

#include "metrics/text_format.hpp"

#include <charconv>

namespace taskd::metrics {

void write_histogram(std::string& out, std::string_view name, std::string_view labels,
                     const std::array<std::uint64_t, Histogram::kBounds.size() + 1>& buckets, std::uint64_t sum_ns) {
    const std::string bucket_name = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        cumulative += buckets[i];
        std::string l(labels);
        if (!l.empty()) l += ',';
        l += "le=\"";
        if (i < Histogram::kBounds.size()) {
            char buf[32];
            l.append(buf, std::to_chars(buf, buf + sizeof buf, Histogram::kBounds[i]).ptr);
        } else {
            l += "+Inf";
        }
        l += '"';
        write_sample(out, bucket_name, l, cumulative);
    }
    write_sample(out, std::string(name) + "_sum", labels, static_cast<double>(sum_ns) / 1e9);
    write_sample(out, std::string(name) + "_count", labels, cumulative);
}

}  // namespace taskd::metrics
