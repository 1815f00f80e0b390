#include "backend/postgres_backend.hpp"

#include "store/idempotency.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <mutex>

namespace taskd::backend {
namespace {

namespace net = boost::asio;
using model::Status;
using model::Task;
using model::Uuid;

// A change of a task that lost its compare-and-swap to another node is read and tried again;
// this many losses in a row means something is wrong, and the client is asked to retry.
constexpr int kMaxAttempts = 16;

// How long this node trusts a token it checked in the database (see agents_by_token_). The
// same second as last_seen_at's: a cached agent's next database check also marks it seen.
constexpr auto kAgentCacheTime = std::chrono::seconds{1};

// The columns of a Task, in the order task_at() reads them.
#define TASK_COLUMNS                                                                                             \
    "id, tenant_id, agent_id, type, payload, status, result, created_at, updated_at, lease_expires_at, attempts, " \
    "max_attempts, lease_seconds, version, priority, not_before"
#define TASK_COLUMNS_T                                                                                       \
    "t.id, t.tenant_id, t.agent_id, t.type, t.payload, t.status, t.result, t.created_at, t.updated_at, "      \
    "t.lease_expires_at, t.attempts, t.max_attempts, t.lease_seconds, t.version, t.priority, t.not_before"
#define AGENT_COLUMNS "id, name, tenant_id, token_hash, created_at, last_seen_at"

// --- statements (every value a parameter) ---

// A create inserts nothing (and answers no row) when the tenant has --max-pending-per-tenant
// ($8; 0: no limit) pending tasks already. The count stops at the limit, so that it costs at
// most that many index entries; concurrent creates may pass the limit by a few (a soft bound).
#define ROOM_FOR_ONE_MORE                                                                              \
    "($8::bigint = 0 OR (SELECT count(*) FROM (SELECT 1 FROM taskd_tasks WHERE tenant_id = $2::uuid " \
    "AND status = 0 LIMIT $8::bigint) pending) < $8::bigint)"
// PRIORITY and NOT_BEFORE name the parameters of the schedule (issue 23): after $8 without a
// key, after the key's three with one (a statement may not leave a parameter number unused).
#define INSERT_TASK(PRIORITY, NOT_BEFORE)                                                             \
    "INSERT INTO taskd_tasks (id, tenant_id, type, payload, status, created_at, updated_at, attempts, " \
    "max_attempts, lease_seconds, version, priority, not_before) "                                     \
    "SELECT $1::uuid, $2::uuid, $3, $4, 0, $5::bigint, $5::bigint, 0, $6::integer, $7::integer, 1, "   \
    PRIORITY "::smallint, " NOT_BEFORE "::bigint "

constexpr pg::Statement kCreateTask{"taskd_create_task",
                                    INSERT_TASK("$9", "$10") "WHERE " ROOM_FOR_ONE_MORE " RETURNING 1"};

// With an Idempotency-Key: the key is inserted with the task, or, when it exists and has not
// expired, nothing is (no row answered) and the caller reads the key's task instead. Two
// creates with one key at once: the second waits for the first's key row, then finds it.
constexpr pg::Statement kCreateTaskWithKey{
    "taskd_create_task_with_key",
    "WITH k AS ("
    " INSERT INTO taskd_idempotency_keys AS k (tenant_id, key, digest, task_id, created_at)"
    " SELECT $2::uuid, $9, $10, $1::uuid, $5::bigint WHERE " ROOM_FOR_ONE_MORE
    " ON CONFLICT (tenant_id, key) DO UPDATE"
    " SET digest = EXCLUDED.digest, task_id = EXCLUDED.task_id, created_at = EXCLUDED.created_at"
    " WHERE k.created_at <= $11::bigint"
    " RETURNING task_id),"
    " t AS (" INSERT_TASK("$12", "$13") "FROM k RETURNING 1) "
    "SELECT 1 FROM t"};

constexpr pg::Statement kPendingOfTenant{"taskd_pending_of_tenant",
                                         "SELECT count(*) FROM (SELECT 1 FROM taskd_tasks WHERE tenant_id = $1::uuid "
                                         "AND status = 0 LIMIT $2::bigint) pending"};

constexpr pg::Statement kFindKey{"taskd_find_key", R"sql(
SELECT k.digest, )sql" TASK_COLUMNS_T R"sql(
FROM taskd_idempotency_keys k JOIN taskd_tasks t ON t.id = k.task_id
WHERE k.tenant_id = $1::uuid AND k.key = $2)sql"};

constexpr pg::Statement kFindTask{"taskd_find_task",
                                  "SELECT " TASK_COLUMNS " FROM taskd_tasks WHERE id = $1::uuid"};

// The claim. The first column says whether the agent exists; the rest is the task claimed, or
// NULLs. The agent's row is read, not locked: locking it (FOR KEY SHARE, so that a delete would
// wait for a claim in flight) wrote the agent's row at every claim, and cost the lifecycle bench
// about a sixth of its rate (doc/postgres.md). A claim whose statement began before the agent's
// delete committed may so still take a task for it; release_orphaned() gives such a task back at
// the next maintenance pass.
//
// Which task (issue 23): claimable now (no not_before, or one at or before $2), the highest
// priority, then the oldest; served by the partial indexes (tenant_id, priority DESC, created_at,
// id) and (priority DESC, created_at, id) of pending tasks (schema step 3). Delayed tasks are
// passed over in the index scan: a claim reads past every delayed task that is ahead of the
// first claimable one in that order.
#define CLAIMABLE "status = 0 AND (not_before IS NULL OR not_before <= $2::bigint)"
#define CLAIM_SQL(TENANT_CONDITION)                                                                              \
    "WITH agent AS (SELECT id FROM taskd_agents WHERE id = $1::uuid),\n"                                         \
    "next AS (SELECT id FROM taskd_tasks WHERE " CLAIMABLE TENANT_CONDITION                                      \
    " AND EXISTS (SELECT 1 FROM agent) ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED),\n" \
    "claimed AS (UPDATE taskd_tasks t SET status = 1, agent_id = $1::uuid, attempts = t.attempts + 1,\n"          \
    "    lease_expires_at = $2::bigint + t.lease_seconds::bigint * 1000000, updated_at = $2::bigint,\n"          \
    "    version = t.version + 1 FROM next WHERE t.id = next.id RETURNING " TASK_COLUMNS_T ")\n"                 \
    "SELECT (SELECT count(*) FROM agent), c.* FROM (SELECT 1) AS one LEFT JOIN claimed c ON true"
constexpr pg::Statement kClaimShared{"taskd_claim_shared", CLAIM_SQL("")};
constexpr pg::Statement kClaimTenant{"taskd_claim_tenant", CLAIM_SQL(" AND tenant_id = $3::uuid")};
// --shared-claim-order fair: the tenant after $3 (the last this node served a shared agent), in
// tenant id order and round, among those with a claimable task; then that tenant's first task.
// Each step is a range scan of the tenant index. Nodes keep their own $3: each rotates on its own.
#define NEXT_TENANT(AFTER)                                                                                    \
    "(SELECT tenant_id FROM taskd_tasks WHERE " CLAIMABLE AFTER " ORDER BY tenant_id LIMIT 1)"
constexpr pg::Statement kClaimFair{
    "taskd_claim_fair",
    CLAIM_SQL(" AND tenant_id = COALESCE(" NEXT_TENANT(" AND tenant_id > $3::uuid") ", " NEXT_TENANT("") ")")};

// An agent's report on a task it holds with a live lease (the hot path: a heartbeat or the
// result), as one statement: the transition of model/transition for exactly that case (a
// heartbeat renews the lease, a final status clears it and keeps agent_id; a result replaces the
// old one). No row: any other case, which patch_task() then decides the general way.
constexpr pg::Statement kAgentReport{"taskd_agent_report",
                                     "UPDATE taskd_tasks SET status = $3::smallint, result = COALESCE($4, result), "
                                     "lease_expires_at = CASE WHEN $3::smallint = 1 "
                                     "THEN $5::bigint + lease_seconds::bigint * 1000000 END, "
                                     "updated_at = $5::bigint, version = version + 1 "
                                     "WHERE id = $1::uuid AND agent_id = $2::uuid AND status = 1 "
                                     "AND lease_expires_at > $5::bigint RETURNING " TASK_COLUMNS};

// Compare and swap of a task's state: a row when it was still at version $2.
// not_before too: a re-queue and a release clear it (model/transition).
constexpr pg::Statement kStoreTask{"taskd_store_task",
                                   "UPDATE taskd_tasks SET status = $3::smallint, agent_id = $4::uuid, result = $5, "
                                   "updated_at = $6::bigint, lease_expires_at = $7::bigint, attempts = $8::integer, "
                                   "version = $9::bigint, not_before = $10::bigint "
                                   "WHERE id = $1::uuid AND version = $2::bigint RETURNING 1"};

constexpr pg::Statement kExpiredLeases{"taskd_expired_leases", "SELECT " TASK_COLUMNS
                                                                " FROM taskd_tasks WHERE status = 1 AND "
                                                                "lease_expires_at <= $1::bigint "
                                                                "ORDER BY lease_expires_at LIMIT $2::bigint"};
// Claimable as a claim at $3 sees it (CLAIMABLE names its time $2: the claims' parameter).
constexpr pg::Statement kClaimableTenants{"taskd_claimable_tenants", R"sql(
SELECT t::text FROM unnest($1::uuid[]) AS t
WHERE EXISTS (SELECT 1 FROM taskd_tasks WHERE tenant_id = t AND status = 0
              AND (not_before IS NULL OR not_before <= $3::bigint))
UNION ALL
(SELECT tenant_id::text FROM taskd_tasks WHERE $2::boolean AND status = 0
 AND (not_before IS NULL OR not_before <= $3::bigint) ORDER BY priority DESC, created_at, id LIMIT 1))sql"};
constexpr pg::Statement kOrphaned{"taskd_orphaned", "SELECT " TASK_COLUMNS_T
                                                    " FROM taskd_tasks t WHERE t.status = 1 AND NOT EXISTS "
                                                    "(SELECT 1 FROM taskd_agents a WHERE a.id = t.agent_id) "
                                                    "LIMIT $1::bigint"};
constexpr pg::Statement kHeldBy{"taskd_held_by",
                                "SELECT " TASK_COLUMNS " FROM taskd_tasks WHERE agent_id = $1::uuid AND status = 1"};
// Finished before the cutoff, through the index of finished tasks by (status, created_at): a task
// is created before it finishes, so the scan ends at the cutoff; it passes over the few created
// before it and finished since.
constexpr pg::Statement kPurgeTasks{"taskd_purge_tasks", R"sql(
WITH d AS (
    DELETE FROM taskd_tasks WHERE id IN (SELECT id FROM (
        (SELECT id FROM taskd_tasks WHERE status = 2 AND created_at < $1::bigint AND updated_at < $1::bigint
         ORDER BY created_at LIMIT $2::bigint)
        UNION ALL
        (SELECT id FROM taskd_tasks WHERE status = 3 AND created_at < $1::bigint AND updated_at < $1::bigint
         ORDER BY created_at LIMIT $2::bigint)) AS finished LIMIT $2::bigint)
    RETURNING 1)
SELECT count(*) FROM d)sql"};
constexpr pg::Statement kPurgeKeys{"taskd_purge_keys",
                                   "DELETE FROM taskd_idempotency_keys WHERE created_at <= $1::bigint"};

constexpr pg::Statement kRegisterAgent{"taskd_register_agent", R"sql(
INSERT INTO taskd_agents (id, name, tenant_id, token_hash, created_at)
VALUES ($1::uuid, $2, $3::uuid, $4, $5::bigint))sql"};
constexpr pg::Statement kFindAgent{"taskd_find_agent", "SELECT " AGENT_COLUMNS " FROM taskd_agents WHERE id = $1::uuid"};
constexpr pg::Statement kListAgents{"taskd_list_agents",
                                    "SELECT " AGENT_COLUMNS " FROM taskd_agents ORDER BY created_at DESC, id DESC"};
// Marks the agent seen at most once a second (a write per request would cost a commit each).
constexpr pg::Statement kAuthenticate{"taskd_authenticate", R"sql(
WITH a AS (SELECT )sql" AGENT_COLUMNS R"sql( FROM taskd_agents WHERE token_hash = $1),
seen AS (
    UPDATE taskd_agents SET last_seen_at = $2::bigint
    WHERE token_hash = $1 AND (last_seen_at IS NULL OR last_seen_at <= $2::bigint - 1000000)
    RETURNING 1)
SELECT a.*, (SELECT count(*) FROM seen) FROM a)sql"};
constexpr pg::Statement kDeleteAgent{"taskd_delete_agent", "DELETE FROM taskd_agents WHERE id = $1::uuid RETURNING id"};

constexpr pg::Statement kCountByStatus{"taskd_count_by_status",
                                       "SELECT status, count(*) FROM taskd_tasks GROUP BY status"};
constexpr pg::Statement kCountByTenant{"taskd_count_by_tenant", R"sql(
SELECT tenant_id, count(*) FILTER (WHERE status = 0), count(*) FILTER (WHERE status = 1),
       count(*) FILTER (WHERE status = 3)
FROM taskd_tasks GROUP BY tenant_id ORDER BY tenant_id)sql"};
constexpr pg::Statement kCountAgents{"taskd_count_agents",
                                     "SELECT count(*), count(*) FILTER (WHERE last_seen_at >= $1::bigint) "
                                     "FROM taskd_agents"};

// Listings: one statement per combination of filters (and cursor), so that each is planned for
// its index. Bits: tenant 1, agent 2, type 4, cursor 8, priority 16; and the status filter, of none or one
// of the four. The indexes are per status (postgres_schema, step 2), so a listing reads each
// status it covers apart, the newest `limit` of each, and merges them. The status is part of
// the statement's text, not a parameter, so that the planner sees which partial index holds it.
constexpr std::size_t kStatusSlots = 5;  // no status filter, then each status
struct ListStatements {
    std::array<std::string, 32 * kStatusSlots> names;
    std::array<std::string, 32 * kStatusSlots> sql;
    static std::size_t index(unsigned mask, const std::optional<Status>& status) {
        return mask * kStatusSlots + (status ? 1 + static_cast<std::size_t>(status.value()) : 0);
    }
    ListStatements() {
        for (unsigned mask = 0; mask < 32; ++mask) {
            int n = 0;
            auto next = [&n] { return "$" + std::to_string(++n); };
            std::string filters;
            if (mask & 1) filters += " AND tenant_id = " + next() + "::uuid";
            if (mask & 2) filters += " AND agent_id = " + next() + "::uuid";
            if (mask & 4) filters += " AND type = " + next();
            if (mask & 16) filters += " AND priority = " + next() + "::smallint";
            if (mask & 8) {
                const std::string created = next();
                filters += " AND (created_at, id) < (" + created + "::bigint, " + next() + "::uuid)";
            }
            const std::string limit = next();
            const auto branch = [&](int status) {
                return "(SELECT " TASK_COLUMNS " FROM taskd_tasks WHERE status = " + std::to_string(status) +
                       filters + " ORDER BY created_at DESC, id DESC LIMIT " + limit + "::bigint)";
            };
            for (std::size_t slot = 0; slot < kStatusSlots; ++slot) {
                const std::size_t i = mask * kStatusSlots + slot;
                names[i] = "taskd_list_" + std::to_string(mask) + "_" + std::to_string(slot);
                if (slot > 0) {
                    sql[i] = branch(static_cast<int>(slot - 1));
                } else {
                    sql[i] = "SELECT * FROM (" + branch(0) + " UNION ALL " + branch(1) + " UNION ALL " + branch(2) +
                             " UNION ALL " + branch(3) + ") AS every_status ORDER BY created_at DESC, id DESC LIMIT " +
                             limit + "::bigint";
                }
            }
        }
    }
};
const ListStatements& list_statements() {
    static const ListStatements statements;
    return statements;
}

// --- values to and from text ---

// Parameters as texts; the views handed to libpq point into `values`, built once all are in.
class ParamList {
public:
    ParamList& add(std::string value) {
        values_.emplace_back(std::move(value));
        return *this;
    }
    ParamList& add(std::optional<std::string> value) {
        values_.push_back(std::move(value));
        return *this;
    }
    ParamList& add(const Uuid& id) { return add(model::to_string(id)); }
    ParamList& add(const std::optional<Uuid>& id) {
        return add(id ? std::optional<std::string>(model::to_string(*id)) : std::nullopt);
    }
    ParamList& add(std::int64_t n) { return add(std::to_string(n)); }
    ParamList& add(model::Timestamp t) { return add(model::to_micros(t)); }
    ParamList& add(const std::optional<model::Timestamp>& t) {
        return add(t ? std::optional<std::string>(std::to_string(model::to_micros(*t))) : std::nullopt);
    }
    ParamList& add(const model::JsonText& json) {
        return add(json ? std::optional<std::string>(*json) : std::nullopt);
    }
    const std::vector<pg::Param>& params() {
        views_.clear();
        for (const auto& v : values_) views_.push_back(v ? pg::Param(*v) : pg::Param());
        return views_;
    }

private:
    std::vector<std::optional<std::string>> values_;
    std::vector<pg::Param> views_;
};

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * N);
    for (auto b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

template <class Int>
Int to_int(std::string_view text) {
    Int n{};
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
}

std::optional<Uuid> opt_uuid(const pg::Rows& rows, std::size_t row, std::size_t col) {
    if (rows.is_null(row, col)) return std::nullopt;
    return model::parse_uuid(rows.text(row, col));
}

Uuid uuid_at(const pg::Rows& rows, std::size_t row, std::size_t col) {
    return model::parse_uuid(rows.text(row, col)).value_or(Uuid{});
}

model::Timestamp time_at(const pg::Rows& rows, std::size_t row, std::size_t col) {
    return model::from_micros(to_int<std::int64_t>(rows.text(row, col)));
}

std::optional<model::Timestamp> opt_time(const pg::Rows& rows, std::size_t row, std::size_t col) {
    if (rows.is_null(row, col)) return std::nullopt;
    return time_at(rows, row, col);
}

// The task in columns first.. of `row` (TASK_COLUMNS' order).
Task task_at(const pg::Rows& rows, std::size_t row, std::size_t first = 0) {
    Task t;
    std::size_t c = first;
    t.id = uuid_at(rows, row, c++);
    t.tenant_id = uuid_at(rows, row, c++);
    t.agent_id = opt_uuid(rows, row, c++);
    t.type = std::string(rows.text(row, c++));
    t.payload = model::make_json_text(std::string(rows.text(row, c++)));
    t.status = static_cast<Status>(to_int<int>(rows.text(row, c++)));
    if (!rows.is_null(row, c)) t.result = model::make_json_text(std::string(rows.text(row, c)));
    ++c;
    t.created_at = time_at(rows, row, c++);
    t.updated_at = time_at(rows, row, c++);
    t.lease_expires_at = opt_time(rows, row, c++);
    t.attempts = to_int<std::uint32_t>(rows.text(row, c++));
    t.max_attempts = to_int<std::uint32_t>(rows.text(row, c++));
    t.lease_seconds = to_int<std::uint32_t>(rows.text(row, c++));
    t.version = to_int<std::uint64_t>(rows.text(row, c++));
    t.schedule.priority = to_int<std::uint8_t>(rows.text(row, c++));
    t.schedule.set_not_before(opt_time(rows, row, c++));
    return t;
}

model::Agent agent_at(const pg::Rows& rows, std::size_t row) {
    model::Agent a;
    a.id = uuid_at(rows, row, 0);
    a.name = std::string(rows.text(row, 1));
    a.tenant_id = opt_uuid(rows, row, 2);
    const auto hash = rows.text(row, 3);
    for (std::size_t i = 0; i < a.token_hash.size() && 2 * i + 1 < hash.size(); ++i)
        a.token_hash[i] = static_cast<std::uint8_t>(std::stoi(std::string(hash.substr(2 * i, 2)), nullptr, 16));
    a.created_at = time_at(rows, row, 4);
    a.last_seen_at = opt_time(rows, row, 5);
    return a;
}

// What a client is told when the database fails it: 503 and Retry-After (error_response adds
// it), whatever the cause; the cause goes to the log when it is not a plain outage.
model::Error database_error(const pg::Error& e) {
    if (!e.retryable()) util::log_error("database: " + e.sqlstate + " " + e.message);
    return model::make_error(model::Errc::unavailable, "The database is unavailable (" + e.message + "); retry shortly");
}

model::Error busy() {
    return model::make_error(model::Errc::unavailable, "The task changed too often to apply this change; retry shortly");
}

// PostgreSQL's text cannot hold U+0000 (a JSON string may, escaped as \u0000).
bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// Whether `text` is UTF-8 that PostgreSQL takes as text: what JSON bodies hold always is (the
// parser checks), but a query parameter is whatever bytes the client percent-encoded.
bool storable_text(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || c == 0 || (n == 2 && c < 0xC2) || (n == 4 && c > 0xF4) || i + n > text.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
        if (n == 3) {
            const auto d = static_cast<unsigned char>(text[i + 1]);
            if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d >= 0xA0)) return false;  // overlong, surrogate
        }
        if (n == 4) {
            const auto d = static_cast<unsigned char>(text[i + 1]);
            if ((c == 0xF0 && d < 0x90) || (c == 0xF4 && d >= 0x90)) return false;  // overlong, past U+10FFFF
        }
        i += n;
    }
    return true;
}

model::Error nul_refused(std::string field) {
    return model::validation_error({model::FieldError{
        {"body", std::move(field)}, "must not contain U+0000 (PostgreSQL text cannot hold it)", "value_error.nul"}});
}

}  // namespace

Op<pg::Rows> PostgresBackend::run(const pg::Statement& statement, pg::Params params) {
    auto lease = co_await pool_->acquire();
    if (!lease) co_return database_error(lease.error());
    auto rows = co_await (*lease)->execute(statement, params);
    if (!rows) co_return database_error(rows.error());
    co_return std::move(*rows);
}

Op<std::optional<Task>> PostgresBackend::read_task(const Uuid& id) {
    ParamList p;
    p.add(id);
    auto rows = co_await run(kFindTask, p.params());
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return std::optional<Task>{};
    co_return std::optional<Task>(task_at(*rows, 0));
}

Op<store::Created> PostgresBackend::create_task(store::NewTask input) {
    if (has_nul(input.type)) co_return nul_refused("type");
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        const auto now = clock_.now();
        Task t;
        t.id = model::random_uuid();
        t.tenant_id = input.tenant_id;
        t.type = input.type;
        t.payload = input.payload;
        t.created_at = t.updated_at = now;
        t.max_attempts = input.max_attempts;
        t.lease_seconds = input.lease_seconds;
        t.schedule = input.schedule;
        ParamList p;
        p.add(t.id).add(t.tenant_id).add(t.type).add(t.payload).add(now);
        p.add(std::int64_t{t.max_attempts}).add(std::int64_t{t.lease_seconds});
        p.add(static_cast<std::int64_t>(limits_.max_pending_per_tenant));
        std::string digest;
        if (input.idempotency_key) {
            digest = hex(store::body_digest(input.tenant_id, input.type, *input.payload, input.max_attempts,
                                            input.lease_seconds, input.schedule.priority));
            p.add(*input.idempotency_key).add(digest).add(now - store::kIdempotencyWindow);
        }
        p.add(std::int64_t{t.schedule.priority}).add(t.schedule.not_before_time());
        auto rows = co_await run(input.idempotency_key ? kCreateTaskWithKey : kCreateTask, p.params());
        if (!rows) co_return rows.error();
        if (!rows->empty()) {
            counters_.creates.add();
            // A delayed task wakes no one now: its waiters are woken when its time comes.
            if (t.schedule.not_before > now) wakeups_->add(t.schedule.not_before, t.tenant_id);
            else notices_->add(t.tenant_id);
            co_return store::Created{std::move(t), false};
        }
        if (input.idempotency_key) {
            // The key may be taken: answer its task, if the body is the same.
            ParamList k;
            k.add(input.tenant_id).add(*input.idempotency_key);
            auto seen = co_await run(kFindKey, k.params());
            if (!seen) co_return seen.error();
            if (!seen->empty()) {
                if (seen->text(0, 0) != digest)
                    co_return model::validation_error(
                        {model::FieldError{{"header", "Idempotency-Key"},
                                           "this Idempotency-Key was used with a different body",
                                           "value_error.idempotency_key.reused"}});
                counters_.idempotent_repeats.add();
                co_return store::Created{task_at(*seen, 0, 1), true};
            }
        }
        // Not created, no key: the tenant is at its limit, or (rarely) its key's task was
        // dropped between the two statements; count to know which.
        ParamList c;
        c.add(input.tenant_id).add(static_cast<std::int64_t>(limits_.max_pending_per_tenant));
        auto pending = co_await run(kPendingOfTenant, c.params());
        if (!pending) co_return pending.error();
        const auto count = to_int<std::size_t>(pending->text(0, 0));
        if (limits_.max_pending_per_tenant != 0 && count >= limits_.max_pending_per_tenant)
            co_return model::make_error(model::Errc::too_many,
                                        "tenant " + model::to_string(input.tenant_id) + " has " +
                                            std::to_string(count) +
                                            " pending tasks, its limit (--max-pending-per-tenant)");
    }
    co_return busy();
}

Op<std::optional<Task>> PostgresBackend::find_task(const Uuid& id) {
    co_return co_await read_task(id);
}

Op<bool> PostgresBackend::store_if_unchanged(const Task& changed, std::uint64_t read_version) {
    ParamList p;
    p.add(changed.id).add(static_cast<std::int64_t>(read_version)).add(std::int64_t{static_cast<int>(changed.status)});
    p.add(changed.agent_id).add(changed.result).add(changed.updated_at).add(changed.lease_expires_at);
    p.add(std::int64_t{changed.attempts}).add(static_cast<std::int64_t>(changed.version));
    p.add(changed.schedule.not_before_time());
    auto rows = co_await run(kStoreTask, p.params());
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return false;
    // A pending task whose not_before is still ahead (a PATCH of its result) became no more
    // claimable than it was; its wake-up is with the node that created it.
    if (changed.status == Status::pending && !changed.schedule.delayed()) notices_->add(changed.tenant_id);
    co_return true;
}

Op<Task> PostgresBackend::patch_task(const Uuid& id, const model::Patch& patch,
                                     const std::optional<model::Agent>& agent) {
    const auto not_found = [&] {
        return model::make_error(model::Errc::not_found, "Task " + model::to_string(id) + " not found");
    };
    if (agent && patch.status != Status::pending) {
        ParamList p;
        p.add(id).add(agent->id).add(std::int64_t{static_cast<int>(patch.status.value_or(Status::running))});
        p.add(patch.result).add(clock_.now());
        auto rows = co_await run(kAgentReport, p.params());
        if (!rows) co_return rows.error();
        if (!rows->empty()) {
            Task reported = task_at(*rows, 0);
            if (reported.status == Status::completed) counters_.completions.add();
            co_return reported;
        }
    }
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        std::optional<Task> current;
        {
            auto read = co_await read_task(id);
            if (!read) co_return read.error();
            current = std::move(*read);
        }
        // An agent may change only a task it holds or held last (GET's rule).
        if (!current || (agent && current->agent_id != agent->id)) co_return not_found();
        const auto now = clock_.now();
        // Fencing: a holder whose lease ran out has lost the task, even before a maintenance
        // pass released it; it is released now, and the agent told so.
        if (agent && model::held_by(*current, agent->id) && current->lease_expires_at &&
            *current->lease_expires_at <= now) {
            Task released = *current;
            model::apply_release(released, "lease expired", now);
            auto stored = co_await store_if_unchanged(released, current->version);
            if (!stored) co_return stored.error();
            if (!*stored) continue;
            counters_.lease_expiries.add();
            co_return model::make_error(model::Errc::lease_lost,
                                        "Task " + model::to_string(id) + " is not held by this agent: its lease expired");
        }
        Task changed = *current;
        const auto actor = agent ? model::Actor::make_agent(agent->id) : model::Actor::make_admin();
        if (auto applied = model::apply_patch(changed, patch, actor, now); !applied) co_return applied.error();
        auto stored = co_await store_if_unchanged(changed, current->version);
        if (!stored) co_return stored.error();
        if (!*stored) continue;
        if (changed.status == Status::completed && current->status != Status::completed) counters_.completions.add();
        co_return changed;
    }
    co_return busy();
}

Op<std::optional<Task>> PostgresBackend::claim(const model::Agent& agent) {
    const bool fair = !agent.tenant_id && shared_claim_order_ == model::SharedClaimOrder::fair;
    ParamList p;
    p.add(agent.id).add(clock_.now());
    if (agent.tenant_id) p.add(*agent.tenant_id);
    if (fair) p.add(last_fair_tenant());
    const pg::Statement& statement = agent.tenant_id ? kClaimTenant : fair ? kClaimFair : kClaimShared;
    auto rows = co_await run(statement, p.params());
    if (!rows) co_return rows.error();
    if (rows->empty() || rows->text(0, 0) == "0")
        co_return model::make_error(model::Errc::unauthorized, "Invalid agent credentials");
    if (rows->is_null(0, 1) && fair) {
        // The tenant picked may have had only tasks that concurrent claims hold locked (SKIP
        // LOCKED passed them): take the first of any tenant rather than answer null.
        ParamList q;
        q.add(agent.id).add(clock_.now());
        rows = co_await run(kClaimShared, q.params());
        if (!rows) co_return rows.error();
        if (rows->empty() || rows->text(0, 0) == "0")
            co_return model::make_error(model::Errc::unauthorized, "Invalid agent credentials");
    }
    if (rows->is_null(0, 1)) co_return std::optional<Task>{};
    counters_.claims.add();
    Task claimed = task_at(*rows, 0, 1);
    if (fair) set_last_fair_tenant(claimed.tenant_id);
    co_return std::optional<Task>(std::move(claimed));
}

Uuid PostgresBackend::last_fair_tenant() const {
    std::lock_guard lock(fair_mutex_);
    return last_fair_tenant_;
}

void PostgresBackend::set_last_fair_tenant(const Uuid& tenant) {
    std::lock_guard lock(fair_mutex_);
    last_fair_tenant_ = tenant;
}

Op<bool> PostgresBackend::list_tasks(const store::TaskFilter& filter, const std::optional<store::TaskKey>& after,
                                     std::size_t limit, const std::function<void(const Task&)>& visit) {
    if (filter.type && !storable_text(*filter.type)) co_return false;  // no task has such a type
    unsigned mask = 0;
    ParamList p;
    if (filter.tenant_id) mask |= 1, p.add(*filter.tenant_id);
    if (filter.agent_id) mask |= 2, p.add(*filter.agent_id);
    if (filter.type) mask |= 4, p.add(*filter.type);
    if (filter.priority) mask |= 16, p.add(std::int64_t{*filter.priority});
    if (after) mask |= 8, p.add(after->created_us).add(after->id);
    p.add(static_cast<std::int64_t>(limit) + 1);  // one more says whether more remain
    const auto& statements = list_statements();
    const auto which = ListStatements::index(mask, filter.status);
    auto rows = co_await run(pg::Statement{statements.names[which], statements.sql[which]}, p.params());
    if (!rows) co_return rows.error();
    const std::size_t n = std::min(rows->size(), limit);
    for (std::size_t i = 0; i < n; ++i) visit(task_at(*rows, i));
    co_return rows->size() > limit;
}

Op<model::Agent> PostgresBackend::register_agent(std::string name, std::optional<Uuid> tenant_id,
                                                 const model::TokenHash& token_hash) {
    if (has_nul(name)) co_return nul_refused("name");
    model::Agent a = model::new_agent(std::move(name), tenant_id, token_hash, clock_.now());
    ParamList p;
    p.add(a.id).add(a.name).add(a.tenant_id).add(hex(a.token_hash)).add(a.created_at);
    auto rows = co_await run(kRegisterAgent, p.params());
    if (!rows) co_return rows.error();
    co_return a;
}

Op<std::optional<model::Agent>> PostgresBackend::find_agent(const Uuid& id) {
    ParamList p;
    p.add(id);
    auto rows = co_await run(kFindAgent, p.params());
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return std::optional<model::Agent>{};
    model::Agent agent = agent_at(*rows, 0);
    note_seen(agent);
    co_return std::optional<model::Agent>(std::move(agent));
}

Op<std::vector<model::Agent>> PostgresBackend::list_agents() {
    auto rows = co_await run(kListAgents);
    if (!rows) co_return rows.error();
    std::vector<model::Agent> out;
    out.reserve(rows->size());
    for (std::size_t i = 0; i < rows->size(); ++i) {
        out.push_back(agent_at(*rows, i));
        note_seen(out.back());
    }
    co_return out;
}

void PostgresBackend::note_seen(model::Agent& agent) {
    std::lock_guard lock(seen_mutex_);
    std::int64_t& ours = seen_[agent.id];
    if (agent.last_seen_at) ours = std::max(ours, model::to_micros(*agent.last_seen_at));
    if (ours != 0) agent.last_seen_at = model::from_micros(ours);
}

Now<std::optional<model::Agent>> PostgresBackend::authenticate_agent_now(const model::TokenHash& token_hash) {
    std::lock_guard lock(agents_mutex_);
    auto it = agents_by_token_.find(token_hash);
    if (it == agents_by_token_.end() || std::chrono::steady_clock::now() - it->second.checked >= kAgentCacheTime)
        return std::nullopt;
    model::Agent agent = it->second.agent;
    agent.last_seen_at = clock_.now();
    note_seen(agent);
    return model::Result<std::optional<model::Agent>>(std::move(agent));
}

Op<std::optional<model::Agent>> PostgresBackend::authenticate_agent(const model::TokenHash& token_hash) {
    if (auto known = authenticate_agent_now(token_hash)) co_return std::move(*known);
    const auto now = clock_.now();
    const auto checked_now = std::chrono::steady_clock::now();
    ParamList p;
    p.add(hex(token_hash)).add(now);
    auto rows = co_await run(kAuthenticate, p.params());
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return std::optional<model::Agent>{};
    model::Agent agent = agent_at(*rows, 0);
    if (!agent.last_seen_at || *agent.last_seen_at < now) agent.last_seen_at = now;
    note_seen(agent);
    {
        std::lock_guard lock(agents_mutex_);
        agents_by_token_[token_hash] = CachedAgent{agent, checked_now};
    }
    co_return std::optional<model::Agent>(std::move(agent));
}

Op<std::size_t> PostgresBackend::delete_agent(const Uuid& id) {
    ParamList p;
    p.add(id);
    std::vector<Task> held;
    {
        auto deleted = co_await run(kDeleteAgent, p.params());
        if (!deleted) co_return deleted.error();
        if (deleted->empty())
            co_return model::make_error(model::Errc::not_found, "Agent " + model::to_string(id) + " not found");
        {
            std::lock_guard lock(seen_mutex_);
            seen_.erase(id);
        }
        {
            std::lock_guard lock(agents_mutex_);
            std::erase_if(agents_by_token_, [&id](const auto& entry) { return entry.second.agent.id == id; });
        }
        // What the agent holds now. A claim in flight may still take one more (see CLAIM_SQL):
        // the maintenance pass releases it (release_orphaned).
        auto rows = co_await run(kHeldBy, p.params());
        if (!rows) co_return rows.error();
        for (std::size_t i = 0; i < rows->size(); ++i) held.push_back(task_at(*rows, i));
    }
    std::size_t released = 0;
    for (Task& task : held) {
        for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
            if (!model::held_by(task, id)) break;  // it finished or was re-queued meanwhile
            Task changed = task;
            model::apply_release(changed, "agent deleted", clock_.now());
            auto stored = co_await store_if_unchanged(changed, task.version);
            if (!stored) co_return stored.error();
            if (*stored) {
                ++released;
                break;
            }
            auto again = co_await read_task(task.id);
            if (!again) co_return again.error();
            if (!*again) break;
            task = std::move(**again);
        }
    }
    co_return released;
}

Op<std::array<std::size_t, 4>> PostgresBackend::task_count_by_status() {
    auto rows = co_await run(kCountByStatus);
    if (!rows) co_return rows.error();
    std::array<std::size_t, 4> counts{};
    for (std::size_t i = 0; i < rows->size(); ++i) {
        const auto status = to_int<std::size_t>(rows->text(i, 0));
        if (status < counts.size()) counts[status] = to_int<std::size_t>(rows->text(i, 1));
    }
    co_return counts;
}

Op<Stats> PostgresBackend::stats(std::chrono::microseconds seen_within) {
    Stats out;
    out.now = clock_.now();
    auto by_status = co_await task_count_by_status();
    if (!by_status) co_return by_status.error();
    out.by_status = *by_status;
    auto tenants = co_await run(kCountByTenant);
    if (!tenants) co_return tenants.error();
    for (std::size_t i = 0; i < tenants->size(); ++i)
        out.tenants.push_back({uuid_at(*tenants, i, 0), to_int<std::size_t>(tenants->text(i, 1)),
                               to_int<std::size_t>(tenants->text(i, 2)), to_int<std::size_t>(tenants->text(i, 3))});
    ParamList p;
    p.add(out.now - seen_within);
    auto agents = co_await run(kCountAgents, p.params());
    if (!agents) co_return agents.error();
    out.agents = to_int<std::size_t>(agents->text(0, 0));
    out.agents_seen = to_int<std::size_t>(agents->text(0, 1));
    out.creates = counters_.creates.total();
    out.claims = counters_.claims.total();
    out.completions = counters_.completions.total();
    co_return out;
}

std::optional<model::Error> PostgresBackend::unavailable() const {
    if (pool_->healthy()) return std::nullopt;
    return model::make_error(model::Errc::unavailable, "the database is unreachable (" + pool_->last_error() + ")");
}

Op<std::size_t> PostgresBackend::release_found(const pg::Statement& find, pg::Params params, std::string_view reason) {
    std::vector<Task> found;
    {
        auto rows = co_await run(find, params);
        if (!rows) co_return rows.error();
        for (std::size_t i = 0; i < rows->size(); ++i) found.push_back(task_at(*rows, i));
    }
    // Several nodes may release the same task at once: the version decides, and the losers
    // skip it (it has changed: released, finished or heartbeated).
    std::size_t released = 0;
    for (const Task& task : found) {
        Task changed = task;
        model::apply_release(changed, reason, clock_.now());
        auto stored = co_await store_if_unchanged(changed, task.version);
        if (!stored) co_return stored.error();
        released += *stored;
    }
    co_return released;
}

Op<std::size_t> PostgresBackend::expire_leases(std::size_t max) {
    ParamList p;
    p.add(clock_.now()).add(static_cast<std::int64_t>(max));
    auto released = co_await release_found(kExpiredLeases, p.params(), "lease expired");
    if (released) counters_.lease_expiries.add(*released);
    co_return released;
}

Op<std::size_t> PostgresBackend::release_orphaned(std::size_t max) {
    ParamList p;
    p.add(static_cast<std::int64_t>(max));
    co_return co_await release_found(kOrphaned, p.params(), "agent deleted");
}

Op<std::vector<Uuid>> PostgresBackend::claimable_tenants(const std::vector<Uuid>& tenants, bool any) {
    ParamList p;
    p.add(uuid_array(tenants)).add(std::string(any ? "true" : "false")).add(clock_.now());
    auto rows = co_await run(kClaimableTenants, p.params());
    if (!rows) co_return rows.error();
    std::vector<Uuid> out;
    for (std::size_t i = 0; i < rows->size(); ++i) out.push_back(uuid_at(*rows, i, 0));
    co_return out;
}

Op<std::size_t> PostgresBackend::purge_finished(model::Timestamp cutoff, std::size_t max) {
    ParamList p;
    p.add(cutoff).add(static_cast<std::int64_t>(max));
    auto rows = co_await run(kPurgeTasks, p.params());
    if (!rows) co_return rows.error();
    ParamList k;
    k.add(clock_.now() - store::kIdempotencyWindow);
    if (auto keys = co_await run(kPurgeKeys, k.params()); !keys) co_return keys.error();
    co_return to_int<std::size_t>(rows->text(0, 0));
}

}  // namespace taskd::backend
