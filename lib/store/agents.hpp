// Agents: the store's registry of agents, by id and by token hash.
//
// An agent's record never changes after registration but for last_seen_at, which every
// authenticated request moves forward: it is kept apart, in atomics, so that authentication
// needs only the store's shared lock. last_logged_us is what the journal last got of it
// (Store::authenticate_agent logs it at most once a second).
//
// Thread-safety: none of its own. add() and remove() under the store's exclusive lock; lookups
// under either; an Entry's atomics from any thread holding the lock either way.
#pragma once

#include "model/agent.hpp"
#include "store/task_key.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace taskd::store {

class Agents {
public:
    struct Entry {
        model::Agent agent;  // last_seen_at lives in last_seen_us
        std::atomic<std::int64_t> last_seen_us{0};  // 0: never
        std::atomic<std::int64_t> last_logged_us{0};

        // The agent as callers see it, last_seen_at included.
        model::Agent current() const;
    };

    // Replaces an agent of the same id (replay may register one twice).
    Entry& add(const model::Agent& agent);
    void remove(const Uuid& id);

    Entry* find(const Uuid& id);
    const Entry* find(const Uuid& id) const;
    Entry* find_by_token(const model::TokenHash& token_hash);
    bool contains(const Uuid& id) const { return by_id_.contains(id); }
    std::size_t size() const { return by_id_.size(); }

    template <class F>
    void for_each(F&& f) const {
        for (const auto& [id, entry] : by_id_) f(static_cast<const Entry&>(*entry));
    }
    template <class F>
    void for_each(F&& f) {
        for (auto& [id, entry] : by_id_) f(*entry);
    }

private:
    // Entries are never moved: authentication holds one while the table may grow elsewhere.
    boost::unordered_flat_map<Uuid, std::unique_ptr<Entry>, UuidHash> by_id_;
    boost::unordered_flat_map<model::TokenHash, Uuid, TokenHashHash> by_token_;
};

}  // namespace taskd::store
