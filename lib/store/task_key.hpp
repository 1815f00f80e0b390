// TaskKey: a task's place in the created_at order (ties broken by id), and the hashes the
// store's tables use.
#pragma once

#include "model/agent.hpp"
#include "model/task.hpp"
#include "model/uuid.hpp"

#include <cstdint>
#include <cstring>

namespace taskd::store {

using model::Uuid;

struct TaskKey {
    std::int64_t created_us = 0;
    Uuid id{};

    friend bool operator==(const TaskKey& a, const TaskKey& b) { return a.created_us == b.created_us && a.id == b.id; }
    friend bool operator<(const TaskKey& a, const TaskKey& b) {
        if (a.created_us != b.created_us) return a.created_us < b.created_us;
        return std::memcmp(a.id.data, b.id.data, sizeof a.id.data) < 0;
    }
};

inline TaskKey key_of(const model::Task& t) { return TaskKey{model::to_micros(t.created_at), t.id}; }

struct UuidHash {
    std::size_t operator()(const Uuid& id) const noexcept {
        std::uint64_t a, b;
        std::memcpy(&a, id.data, 8);
        std::memcpy(&b, id.data + 8, 8);
        return a ^ (b * 0x9E3779B97F4A7C15ull);
    }
};

struct TokenHashHash {
    std::size_t operator()(const model::TokenHash& h) const noexcept {
        std::size_t v;
        std::memcpy(&v, h.data(), sizeof v);  // a SHA-256 is uniform already
        return v;
    }
};

}  // namespace taskd::store
