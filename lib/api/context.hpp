// ApiContext: what the handlers of API.md share. Owned by the server; outlives every request.
#pragma once

#include "api/waiters.hpp"
#include "backend/backend.hpp"
#include "model/agent.hpp"
#include "model/time.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace taskd::api {

struct ApiConfig {
    // Deeper documents are refused before they are built: a parser's recursion and a
    // document's size grow with depth, and no task needs more than a few levels.
    std::size_t max_json_depth = 32;
    std::uint32_t default_lease_seconds = model::kDefaultLeaseSeconds;
    // False only with --insecure-no-admin-auth: a request without credentials is the admin.
    bool admin_auth = true;
    // Long polls waiting at once; each is an open connection and a timer.
    std::size_t max_waiters = 10'000;
    // GET /metrics needs the admin token (--metrics-auth); open by default, as scrapers expect.
    bool metrics_auth = false;
    // Serve the operator's console at /ui (--ui); off, /ui is 404.
    bool ui = true;
};

struct ApiContext {
    backend::Backend& backend;  // the store behind the API: in memory with a journal, or PostgreSQL
    model::TokenHash admin_token_hash;
    ApiConfig config;
    std::atomic<bool> ready{false};  // recovery from disk is done, or the database reached (/readyz)
    Waiters waiters{config.max_waiters};
    // Appends the server's own metrics (HTTP, journal, snapshots, ...) to GET /metrics; set by
    // the server before it serves.
    std::function<void(std::string&)> write_server_metrics{};
    // The store's clock (the server sets it: --debug-frozen-clock stops it), so that a create's
    // delay_seconds counts from the same now as its created_at. Null: the system clock.
    const model::Clock* clock = nullptr;

    model::Timestamp now() const { return clock ? clock->now() : model::SystemClock{}.now(); }
};

}  // namespace taskd::api
