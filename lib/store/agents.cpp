#include "store/agents.hpp"

namespace taskd::store {

model::Agent Agents::Entry::current() const {
    model::Agent a = agent;
    if (const auto us = last_seen_us.load(std::memory_order_relaxed); us != 0) a.last_seen_at = model::from_micros(us);
    return a;
}

Agents::Entry& Agents::add(const model::Agent& agent) {
    auto entry = std::make_unique<Entry>();
    entry->agent = agent;
    entry->agent.last_seen_at.reset();
    if (agent.last_seen_at) entry->last_seen_us = model::to_micros(*agent.last_seen_at);
    entry->last_logged_us = entry->last_seen_us.load();
    Entry& out = *entry;
    by_token_[agent.token_hash] = agent.id;
    by_id_[agent.id] = std::move(entry);
    return out;
}

void Agents::remove(const Uuid& id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    by_token_.erase(it->second->agent.token_hash);
    by_id_.erase(it);
}

Agents::Entry* Agents::find(const Uuid& id) {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.get();
}

const Agents::Entry* Agents::find(const Uuid& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.get();
}

Agents::Entry* Agents::find_by_token(const model::TokenHash& token_hash) {
    auto it = by_token_.find(token_hash);
    return it == by_token_.end() ? nullptr : find(it->second);
}

}  // namespace taskd::store
