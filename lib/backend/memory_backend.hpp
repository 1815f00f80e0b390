// MemoryBackend: the default backend, the in-memory Store whose changes go to the journal.
//
// Each change is made in the store at once (under its lock, or for a claim without one) and
// answered once the journal says its record is durable: the coroutine waits for the journal's
// group commit, without a thread. Reads never wait.
#pragma once

#include "backend/backend.hpp"
#include "journal/change_log.hpp"
#include "store/store.hpp"

#include <boost/system/error_code.hpp>

#include <tuple>

namespace taskd::backend {

class MemoryBackend final : public Backend {
public:
    MemoryBackend(store::Store& store, journal::ChangeLog& log) : store_(store), log_(log) {}

    Op<store::Created> create_task(store::NewTask input) override;
    Op<std::optional<model::Task>> find_task(const model::Uuid& id) override;
    Op<model::Task> patch_task(const model::Uuid& id, const model::Patch& patch,
                               const std::optional<model::Agent>& agent) override;
    Op<std::optional<model::Task>> claim(const model::Agent& agent) override;
    Op<bool> list_tasks(const store::TaskFilter& filter, const std::optional<store::TaskKey>& after, std::size_t limit,
                        const std::function<void(const model::Task&)>& visit) override;

    Op<model::Agent> register_agent(std::string name, std::optional<model::Uuid> tenant_id,
                                    const model::TokenHash& token_hash) override;
    Op<std::optional<model::Agent>> find_agent(const model::Uuid& id) override;
    Op<std::vector<model::Agent>> list_agents() override;
    Op<std::optional<model::Agent>> authenticate_agent(const model::TokenHash& token_hash) override;
    Op<std::size_t> delete_agent(const model::Uuid& id) override;

    Op<std::array<std::size_t, 4>> task_count_by_status() override;
    Op<Stats> stats(std::chrono::microseconds seen_within) override;
    const Counters& counters() const override { return store_.counters(); }
    std::optional<model::Error> unavailable() const override;

    Now<std::optional<model::Task>> find_task_now(const model::Uuid& id) override { return store_.find_task(id); }
    Now<std::optional<model::Agent>> authenticate_agent_now(const model::TokenHash& token_hash) override {
        return store_.authenticate_agent(token_hash);
    }

private:
    // Completes once journal record `sequence` is durable, with an error if it never will be;
    // a change that logged nothing (sequence 0) does not call it. Not a coroutine of its own:
    // each change awaits the journal directly, one coroutine frame fewer per change.
    boost::asio::awaitable<std::tuple<boost::system::error_code>> durable(std::uint64_t sequence);
    // The answer (503) to a change the journal could not make durable.
    model::Error journal_failed() const;

    store::Store& store_;
    journal::ChangeLog& log_;
};

}  // namespace taskd::backend
