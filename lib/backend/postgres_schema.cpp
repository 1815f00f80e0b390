#include "backend/postgres_schema.hpp"

#include <array>
#include <charconv>
#include <string_view>

namespace taskd::backend {
namespace {

// Step N brings the schema from version N-1 to N. Never edit a released step: add one.
//
// Times are microseconds since the epoch (bigint), as the journal keeps them, so that both
// stores order and round the same. Payloads and results are the JSON text as received
// (`text`, not jsonb: jsonb would reorder keys and rewrite numbers). Status: 0 pending,
// 1 running, 2 completed, 3 failed.
constexpr std::array<std::string_view, kSchemaVersion> kSteps{
    R"sql(
CREATE TABLE taskd_tasks (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    agent_id uuid,
    type text NOT NULL,
    payload text NOT NULL,
    status smallint NOT NULL,
    result text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    lease_expires_at bigint,
    attempts integer NOT NULL,
    max_attempts integer NOT NULL,
    lease_seconds integer NOT NULL,
    version bigint NOT NULL
);
-- Claims: the oldest pending task of a tenant, and of all tenants (shared agents).
CREATE INDEX taskd_tasks_pending_by_tenant ON taskd_tasks (tenant_id, created_at, id) WHERE status = 0;
CREATE INDEX taskd_tasks_pending ON taskd_tasks (created_at, id) WHERE status = 0;
-- Leases to release, and finished tasks to drop after --retain.
CREATE INDEX taskd_tasks_leases ON taskd_tasks (lease_expires_at) WHERE status = 1;
CREATE INDEX taskd_tasks_finished ON taskd_tasks (updated_at) WHERE status >= 2;
-- Listings, newest first, by each filter.
CREATE INDEX taskd_tasks_created ON taskd_tasks (created_at, id);
CREATE INDEX taskd_tasks_by_tenant ON taskd_tasks (tenant_id, created_at, id);
CREATE INDEX taskd_tasks_by_status ON taskd_tasks (status, created_at, id);
CREATE INDEX taskd_tasks_by_agent ON taskd_tasks (agent_id, created_at, id) WHERE agent_id IS NOT NULL;

CREATE TABLE taskd_agents (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    tenant_id uuid,
    token_hash text NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    last_seen_at bigint
);

-- A key goes with its task: retention drops both.
CREATE TABLE taskd_idempotency_keys (
    tenant_id uuid NOT NULL,
    key text NOT NULL,
    digest text NOT NULL,
    task_id uuid NOT NULL REFERENCES taskd_tasks (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX taskd_idempotency_keys_task ON taskd_idempotency_keys (task_id);
CREATE INDEX taskd_idempotency_keys_created ON taskd_idempotency_keys (created_at);
)sql",
    // 2: listings by state. Every change of a task's status is a new row version that PostgreSQL
    // enters in every index whose predicate it meets (a changed indexed column rules out HOT
    // updates), so four indexes over all tasks cost 11 index entries per task's life for the
    // admin's listings alone: the lifecycle bench made 1,450-1,850 per second with them, 2,000-
    // 2,350 without (doc/postgres.md). The listings now read each status apart: pending tasks
    // through the claims' indexes, running ones (as many as agents at work) by sorting them,
    // finished ones through these, entered once per task. Retention finds finished tasks
    // through the first of them too (created_at <= updated_at bounds the scan).
    R"sql(
DROP INDEX taskd_tasks_created;
DROP INDEX taskd_tasks_by_tenant;
DROP INDEX taskd_tasks_by_status;
DROP INDEX taskd_tasks_by_agent;
DROP INDEX taskd_tasks_finished;
CREATE INDEX taskd_tasks_finished_by_status ON taskd_tasks (status, created_at, id) WHERE status >= 2;
CREATE INDEX taskd_tasks_finished_by_tenant ON taskd_tasks (tenant_id, status, created_at, id) WHERE status >= 2;
CREATE INDEX taskd_tasks_finished_by_agent ON taskd_tasks (agent_id, status, created_at, id) WHERE status >= 2;
)sql",
    // 3: scheduling (issue 23). Every task of schema 2 gets priority 5 and no not_before (ADD
    // COLUMN with a constant default rewrites no row). Claims take the highest priority, then
    // the oldest: two partial indexes in that order over pending tasks, beside the (created_at)
    // ones that the listings of pending tasks read newest first. A pending task so enters four
    // index entries instead of two. not_before is not in the indexes: a claim checks it on the
    // rows it passes (tasks that wait are expected to be few beside those that do not).
    R"sql(
ALTER TABLE taskd_tasks ADD COLUMN priority smallint NOT NULL DEFAULT 5;
ALTER TABLE taskd_tasks ADD COLUMN not_before bigint;
CREATE INDEX taskd_tasks_claim_by_tenant ON taskd_tasks (tenant_id, priority DESC, created_at, id) WHERE status = 0;
CREATE INDEX taskd_tasks_claim ON taskd_tasks (priority DESC, created_at, id) WHERE status = 0;
)sql",
};

// Any fixed number: the key of the advisory lock that starting nodes take while migrating.
constexpr std::string_view kMigrationLock = "7305329916";

using Outcome = boost::system::result<SchemaOutcome, SchemaError>;

SchemaError database_error(const pg::Error& e) { return SchemaError{e.message, false}; }

}  // namespace

namespace {

// The steps inside migrate()'s transaction.
boost::asio::awaitable<Outcome> migrate_locked(pg::Connection& connection) {
    const pg::Param lock_key[] = {kMigrationLock};
    if (auto locked = co_await connection.query("SELECT pg_advisory_xact_lock($1::bigint)", lock_key); !locked)
        co_return database_error(locked.error());
    if (auto made = co_await connection.query("CREATE TABLE IF NOT EXISTS taskd_schema (version integer NOT NULL)");
        !made)
        co_return database_error(made.error());
    auto rows = co_await connection.query("SELECT max(version) FROM taskd_schema");
    if (!rows) co_return database_error(rows.error());
    SchemaOutcome outcome;
    if (!rows->is_null(0, 0)) {
        const auto text = rows->text(0, 0);
        std::from_chars(text.data(), text.data() + text.size(), outcome.found);
    }
    if (outcome.found > kSchemaVersion)
        co_return SchemaError{"the database's schema is at version " + std::to_string(outcome.found) +
                                  ", newer than this taskd knows (" + std::to_string(kSchemaVersion) +
                                  "): a newer taskd wrote it; run that version, or a fresh database",
                              true};
    for (int version = outcome.found + 1; version <= kSchemaVersion; ++version) {
        if (auto done = co_await connection.script(kSteps[static_cast<std::size_t>(version - 1)]); !done)
            co_return database_error(done.error());
    }
    if (outcome.found < kSchemaVersion) {
        const std::string version = std::to_string(kSchemaVersion);
        const pg::Param v[] = {version};
        if (auto cleared = co_await connection.query("DELETE FROM taskd_schema"); !cleared)
            co_return database_error(cleared.error());
        if (auto noted = co_await connection.query("INSERT INTO taskd_schema (version) VALUES ($1::integer)", v); !noted)
            co_return database_error(noted.error());
    }
    outcome.now = kSchemaVersion;
    co_return outcome;
}

}  // namespace

std::string_view schema_step(int version) { return kSteps.at(static_cast<std::size_t>(version - 1)); }

boost::asio::awaitable<Outcome> migrate(pg::Connection& connection) {
    // One transaction: the lock is held until it ends, and a failed step leaves nothing behind.
    if (auto begun = co_await connection.query("BEGIN"); !begun) co_return database_error(begun.error());
    Outcome outcome = co_await migrate_locked(connection);
    if (!outcome) {
        (void)co_await connection.query("ROLLBACK");
        co_return outcome;
    }
    if (auto committed = co_await connection.query("COMMIT"); !committed) co_return database_error(committed.error());
    co_return outcome;
}

}  // namespace taskd::backend
