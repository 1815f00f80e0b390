#include "journal/change.hpp"

#include "journal/codec.hpp"

namespace taskd::journal {
namespace {

// A sanity bound on counts inside one record: a damaged count must not become a huge reserve.
constexpr std::uint32_t kMaxItemsPerRecord = 1u << 24;

void put_optional_uuid(Encoder& e, const std::optional<model::Uuid>& id) {
    e.optional(id, [&](const model::Uuid& v) { e.uuid(v); });
}

void put_optional_time(Encoder& e, const std::optional<model::Timestamp>& t) {
    e.optional(t, [&](model::Timestamp v) { e.time(v); });
}

void put_state(Encoder& e, const model::Task& t) {
    e.uuid(t.id);
    e.u64(t.version);
    e.u8(static_cast<std::uint8_t>(t.status));
    put_optional_uuid(e, t.agent_id);
    e.u8(t.result ? 1 : 0);
    if (t.result) e.string(*t.result);
    e.u32(t.attempts);
    put_optional_time(e, t.lease_expires_at);
    e.time(t.updated_at);
}

void put_created(Encoder& e, const model::Task& t, const std::optional<std::string>& key) {
    e.uuid(t.id);
    e.uuid(t.tenant_id);
    e.string(t.type);
    e.string(*t.payload);
    e.time(t.created_at);
    e.u32(t.max_attempts);
    e.u32(t.lease_seconds);
    e.optional(key, [&](const std::string& k) { e.string(k); });
}

void put_agent(Encoder& e, const model::Agent& a) {
    e.uuid(a.id);
    e.string(a.name);
    put_optional_uuid(e, a.tenant_id);
    e.bytes(a.token_hash);
    e.time(a.created_at);
}

std::optional<model::Uuid> get_optional_uuid(Decoder& d) {
    if (!d.present()) return std::nullopt;
    return d.uuid();
}

std::optional<model::Timestamp> get_optional_time(Decoder& d) {
    if (!d.present()) return std::nullopt;
    return d.time();
}

TaskState get_state(Decoder& d) {
    TaskState s;
    s.id = d.uuid();
    s.version = d.u64();
    const std::uint8_t status = d.u8();
    if (status > static_cast<std::uint8_t>(model::Status::failed)) d.fail();
    s.status = static_cast<model::Status>(status & 3);
    s.agent_id = get_optional_uuid(d);
    if (d.present()) s.result = model::make_json_text(d.string());
    s.attempts = d.u32();
    s.lease_expires_at = get_optional_time(d);
    s.updated_at = d.time();
    return s;
}

model::Task get_created(Decoder& d, std::optional<std::string>& key) {
    model::Task t;
    t.id = d.uuid();
    t.tenant_id = d.uuid();
    t.type = d.string();
    t.payload = model::make_json_text(d.string());
    t.created_at = t.updated_at = d.time();
    t.max_attempts = d.u32();
    t.lease_seconds = d.u32();
    if (d.present()) key = d.string();
    return t;
}

model::Agent get_agent(Decoder& d) {
    model::Agent a;
    a.id = d.uuid();
    a.name = d.string();
    a.tenant_id = get_optional_uuid(d);
    a.token_hash = d.bytes<32>();
    a.created_at = d.time();
    return a;
}

}  // namespace

TaskState state_of(const model::Task& t) {
    return TaskState{t.id, t.version, t.status, t.agent_id, t.result, t.attempts, t.lease_expires_at, t.updated_at};
}

void apply_state(model::Task& t, const TaskState& s) {
    t.version = s.version;
    t.status = s.status;
    t.agent_id = s.agent_id;
    t.result = s.result;
    t.attempts = s.attempts;
    t.lease_expires_at = s.lease_expires_at;
    t.updated_at = s.updated_at;
}

std::string encode_task_created(const model::Task& task, const std::optional<std::string>& key) {
    std::string out;
    out.reserve(96 + task.type.size() + task.payload->size());
    Encoder e(out);
    put_created(e, task, key);
    return out;
}

std::string encode_task_state(const model::Task& task) {
    std::string out;
    out.reserve(80 + (task.result ? task.result->size() : 0));
    Encoder e(out);
    put_state(e, task);
    return out;
}

std::string encode_agent_registered(const model::Agent& agent) {
    std::string out;
    Encoder e(out);
    put_agent(e, agent);
    return out;
}

std::string encode_agent_deleted(const model::Uuid& id, model::Timestamp at, const std::vector<model::Task>& released) {
    std::string out;
    Encoder e(out);
    e.uuid(id);
    e.time(at);
    e.u32(static_cast<std::uint32_t>(released.size()));
    for (const auto& t : released) put_state(e, t);
    return out;
}

std::string encode_tasks_purged(model::Timestamp at, const std::vector<model::Uuid>& ids) {
    std::string out;
    out.reserve(12 + 16 * ids.size());
    Encoder e(out);
    e.time(at);
    e.u32(static_cast<std::uint32_t>(ids.size()));
    for (const auto& id : ids) e.uuid(id);
    return out;
}

std::string encode_agent_seen(const model::Uuid& id, model::Timestamp at) {
    std::string out;
    Encoder e(out);
    e.uuid(id);
    e.time(at);
    return out;
}

std::string encode_snapshot_agent(const model::Agent& agent) {
    std::string out;
    Encoder e(out);
    put_agent(e, agent);
    put_optional_time(e, agent.last_seen_at);
    return out;
}

std::string encode_snapshot_task(const model::Task& task, const std::optional<std::string>& key) {
    std::string out;
    Encoder e(out);
    put_created(e, task, key);
    put_state(e, task);
    return out;
}

std::string encode_snapshot_end(std::uint64_t agents, std::uint64_t tasks) {
    std::string out;
    Encoder e(out);
    e.u64(agents);
    e.u64(tasks);
    return out;
}

std::optional<Change> decode_change(RecordType type, std::span<const std::uint8_t> payload) {
    Decoder d(payload);
    Change change;
    switch (type) {
        case RecordType::task_created: {
            TaskCreated c;
            c.task = get_created(d, c.idempotency_key);
            change = std::move(c);
            break;
        }
        case RecordType::task_claimed:
        case RecordType::task_updated:
        case RecordType::task_lease_expired: change = TaskChanged{get_state(d)}; break;
        case RecordType::agent_registered: change = AgentRegistered{get_agent(d)}; break;
        case RecordType::agent_deleted: {
            AgentDeleted c;
            c.id = d.uuid();
            c.at = d.time();
            const std::uint32_t n = d.u32();
            if (n > kMaxItemsPerRecord) return std::nullopt;
            for (std::uint32_t i = 0; i < n && d.ok(); ++i) c.released.push_back(get_state(d));
            change = std::move(c);
            break;
        }
        case RecordType::tasks_purged: {
            TasksPurged c;
            c.at = d.time();
            const std::uint32_t n = d.u32();
            if (n > kMaxItemsPerRecord || n > d.remaining() / 16) return std::nullopt;
            c.ids.reserve(n);
            for (std::uint32_t i = 0; i < n; ++i) c.ids.push_back(d.uuid());
            change = std::move(c);
            break;
        }
        case RecordType::agent_seen: {
            AgentSeen c;
            c.id = d.uuid();
            c.at = d.time();
            change = c;
            break;
        }
        case RecordType::snapshot_agent: {
            AgentRegistered c{get_agent(d)};
            c.agent.last_seen_at = get_optional_time(d);
            change = std::move(c);
            break;
        }
        case RecordType::snapshot_task: {
            TaskCreated c;
            c.task = get_created(d, c.idempotency_key);
            const TaskState state = get_state(d);
            if (state.id != c.task.id) return std::nullopt;
            apply_state(c.task, state);
            change = std::move(c);
            break;
        }
        case RecordType::snapshot_end: {
            SnapshotEnd c;
            c.agents = d.u64();
            c.tasks = d.u64();
            change = c;
            break;
        }
    }
    if (!d.ok() || !d.done()) return std::nullopt;
    return change;
}

}  // namespace taskd::journal
