// Backoff: the waits between retries while the server is away: 100 ms, doubling, capped, each
// drawn at random from [d/2, d] so that a fleet of agents that lost the server together does
// not come back in lockstep. Not thread-safe (one per retry loop).
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace taskd::agent {

class Backoff {
public:
    static constexpr std::chrono::milliseconds kFirst{100};

    explicit Backoff(std::chrono::milliseconds cap) : cap_(std::max(cap, kFirst)), rng_(std::random_device{}()) {}

    std::chrono::milliseconds next() {
        const auto d = current_;
        current_ = std::min(cap_, current_ * 2);
        std::uniform_int_distribution<long long> jitter(d.count() / 2, d.count());
        return std::chrono::milliseconds{jitter(rng_)};
    }
    void reset() { current_ = kFirst; }

private:
    std::chrono::milliseconds cap_;
    std::chrono::milliseconds current_ = kFirst;
    std::mt19937 rng_;
};

}  // namespace taskd::agent
