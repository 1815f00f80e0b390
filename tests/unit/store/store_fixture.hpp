// A Store on a ManualClock and an in-memory journal, with helpers shared by the store tests.
// claim() and patch() unwrap the journal sequence number (Logged) the store returns.
#pragma once

#include "auth/token.hpp"
#include "journal/change_log.hpp"
#include "store/store.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace taskd::test {

struct StoreFixture {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    journal::MemoryLog log;
    store::Store store{clock, log};
    int tokens = 0;

    model::Task create(const model::Uuid& tenant, std::string type = "T", std::uint32_t max_attempts = 3,
                       std::uint32_t lease_seconds = 60) {
        store::NewTask n;
        n.tenant_id = tenant;
        n.type = std::move(type);
        n.payload = model::make_json_text("{}");
        n.max_attempts = max_attempts;
        n.lease_seconds = lease_seconds;
        return store.create_task(std::move(n)).value().value.task;
    }

    // The n-th agent registered (from 0) is "agent-<n>" with token "token-<n>".
    model::Agent agent(std::optional<model::Uuid> tenant) {
        const std::string n = std::to_string(tokens++);
        return store.register_agent("agent-" + n, tenant, auth::hash_token("token-" + n)).value().value;
    }

    void tick(std::chrono::microseconds by = std::chrono::microseconds{1}) { clock.advance(by); }

    model::Task task(const model::Uuid& id) const { return store.find_task(id).value(); }

    model::Result<std::optional<model::Task>> claim(const model::Agent& agent) {
        auto r = store.claim(agent);
        if (!r) return r.error();
        return std::move(r->value);
    }

    model::Result<model::Task> patch(const model::Uuid& id, const model::Patch& p, const std::optional<model::Agent>& who) {
        auto r = store.patch_task(id, p, who);
        if (!r) return r.error();
        return std::move(r->value);
    }

    model::Result<model::Task> admin_patch(const model::Uuid& id, model::Status to) {
        return patch(id, model::Patch{to, {}}, std::nullopt);
    }
};

}  // namespace taskd::test
