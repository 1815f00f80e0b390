#include "backend/memory_backend.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace taskd::backend {
namespace net = boost::asio;

net::awaitable<std::tuple<boost::system::error_code>> MemoryBackend::durable(std::uint64_t sequence) {
    return journal::async_wait_durable(log_, sequence, net::as_tuple(net::use_awaitable));
}

model::Error MemoryBackend::journal_failed() const {
    return model::make_error(model::Errc::journal_failed, "The change could not be made durable (" + log_.failure() +
                                                              "); taskd refuses changes until it is restarted");
}

Op<store::Created> MemoryBackend::create_task(store::NewTask input) {
    auto created = store_.create_task(std::move(input));
    if (!created) co_return created.error();
    // A repeat waits for the first create's record too: it may not be durable yet.
    if (created->sequence != 0) {
        if (auto [ec] = co_await durable(created->sequence); ec) co_return journal_failed();
    }
    co_return std::move(created->value);
}

Op<std::optional<model::Task>> MemoryBackend::find_task(const model::Uuid& id) { co_return store_.find_task(id); }

Op<model::Task> MemoryBackend::patch_task(const model::Uuid& id, const model::Patch& patch,
                                          const std::optional<model::Agent>& agent) {
    auto patched = store_.patch_task(id, patch, agent);
    if (!patched) co_return patched.error();
    if (patched->sequence != 0) {
        if (auto [ec] = co_await durable(patched->sequence); ec) co_return journal_failed();
    }
    co_return std::move(patched->value);
}

Op<std::optional<model::Task>> MemoryBackend::claim(const model::Agent& agent) {
    auto claimed = store_.claim(agent);
    if (!claimed) co_return claimed.error();
    if (claimed->sequence != 0) {
        if (auto [ec] = co_await durable(claimed->sequence); ec) co_return journal_failed();
    }
    co_return std::move(claimed->value);
}

Op<bool> MemoryBackend::list_tasks(const store::TaskFilter& filter, const std::optional<store::TaskKey>& after,
                                   std::size_t limit, const std::function<void(const model::Task&)>& visit) {
    co_return store_.list_tasks(filter, after, limit, visit);
}

Op<model::Agent> MemoryBackend::register_agent(std::string name, std::optional<model::Uuid> tenant_id,
                                               const model::TokenHash& token_hash) {
    auto registered = store_.register_agent(std::move(name), tenant_id, token_hash);
    if (!registered) co_return registered.error();
    if (registered->sequence != 0) {
        if (auto [ec] = co_await durable(registered->sequence); ec) co_return journal_failed();
    }
    co_return std::move(registered->value);
}

Op<std::optional<model::Agent>> MemoryBackend::find_agent(const model::Uuid& id) { co_return store_.find_agent(id); }

Op<std::vector<model::Agent>> MemoryBackend::list_agents() { co_return store_.list_agents(); }

Op<std::optional<model::Agent>> MemoryBackend::authenticate_agent(const model::TokenHash& token_hash) {
    co_return store_.authenticate_agent(token_hash);
}

Op<std::size_t> MemoryBackend::delete_agent(const model::Uuid& id) {
    auto deleted = store_.delete_agent(id);
    if (!deleted) co_return deleted.error();
    if (deleted->sequence != 0) {
        if (auto [ec] = co_await durable(deleted->sequence); ec) co_return journal_failed();
    }
    co_return deleted->value;
}

Op<std::array<std::size_t, 4>> MemoryBackend::task_count_by_status() { co_return store_.task_count_by_status(); }

Op<Stats> MemoryBackend::stats(std::chrono::microseconds seen_within) { co_return store_.stats(seen_within); }

std::optional<model::Error> MemoryBackend::unavailable() const {
    if (log_.healthy()) return std::nullopt;
    return model::make_error(model::Errc::journal_failed, "the journal failed (" + log_.failure() +
                                                              "); changes are refused until taskd restarts");
}

}  // namespace taskd::backend
