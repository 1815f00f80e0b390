#include "journal/change.hpp"

#include "journal/codec.hpp"

#include <cassert>

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

// Format 3 (issue 23): the fields of Schedule, after a record's fields of format 2, written only
// when they are not the defaults. A record without them is one that format 2 wrote, or one of a
// task that uses none of this: both mean priority 5, no not_before. So a task that uses no
// scheduling costs no byte more, and every older record reads as it was meant.
void put_state_schedule(Encoder& e, const model::Task& t) {
    if (t.schedule.delayed()) e.time(t.schedule.not_before);
}

void put_created_schedule(Encoder& e, const model::Task& t) {
    if (t.schedule == model::Schedule{}) return;
    e.u8(t.schedule.priority);
    put_optional_time(e, t.schedule.not_before_time());
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

void get_created_schedule(Decoder& d, model::Task& t) {
    if (d.done()) return;  // format 2, or the defaults
    t.schedule.priority = d.u8();
    if (t.schedule.priority > model::kMaxPriority) d.fail();
    t.schedule.set_not_before(get_optional_time(d));
}

void get_state_schedule(Decoder& d, TaskState& s) {
    if (!d.done()) s.not_before = d.time();
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
    return TaskState{t.id,       t.version,          t.status,     t.agent_id,
                     t.result,   t.attempts,         t.lease_expires_at, t.updated_at,
                     t.schedule.not_before};
}

void apply_state(model::Task& t, const TaskState& s) {
    t.version = s.version;
    t.status = s.status;
    t.agent_id = s.agent_id;
    t.result = s.result;
    t.attempts = s.attempts;
    t.lease_expires_at = s.lease_expires_at;
    t.updated_at = s.updated_at;
    t.schedule.not_before = s.not_before;
}

std::string encode_task_created(const model::Task& task, const std::optional<std::string>& key) {
    std::string out;
    out.reserve(96 + task.type.size() + task.payload->size());
    Encoder e(out);
    put_created(e, task, key);
    put_created_schedule(e, task);
    return out;
}

std::string encode_task_state(const model::Task& task) {
    std::string out;
    out.reserve(80 + (task.result ? task.result->size() : 0));
    Encoder e(out);
    put_state(e, task);
    put_state_schedule(e, task);
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
    // A release clears not_before (model::apply_release), so the states here need no
    // trailer; they are counted, and a trailer could not be told from the next state.
    for (const auto& t : released) {
        assert(!t.schedule.delayed());
        put_state(e, t);
    }
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

// snapshot_tasks (doc/journal_format.md): dictionaries of the run's tenants, types and agents,
// then each task with varints, deltas against created_at and indices into the dictionaries.
namespace {
constexpr std::uint8_t kHasAgent = 1 << 2, kHasResult = 1 << 3, kHasLease = 1 << 4, kHasKey = 1 << 5;
// Format 3 (issue 23): a priority other than 5, a not_before. Format 2 never set these bits.
constexpr std::uint8_t kHasPriority = 1 << 6, kHasNotBefore = 1 << 7;
constexpr std::uint8_t kKnownFlags = 3 | kHasAgent | kHasResult | kHasLease | kHasKey | kHasPriority | kHasNotBefore;
// The fewest bytes a task takes in a run: a count beyond remaining / this is damage.
constexpr std::size_t kMinSnapshotTaskBytes = 16 + 10;

template <class T>
class Dictionary {
public:
    std::uint32_t index(const T& v) {
        for (std::uint32_t i = 0; i < items_.size(); ++i)
            if (items_[i] == v) return i;
        items_.push_back(v);
        return static_cast<std::uint32_t>(items_.size() - 1);
    }
    const std::vector<T>& items() const { return items_; }

private:
    std::vector<T> items_;  // a run's tenants, types and agents are few: a scan beats a hash
};
}  // namespace

std::string encode_snapshot_tasks(std::span<const SnapshotTask> tasks) {
    Dictionary<model::Uuid> tenants, agents;
    Dictionary<std::string_view> types;
    std::string body;
    body.reserve(tasks.size() * 96);
    Encoder b(body);
    std::int64_t previous_created = 0;
    for (const SnapshotTask& st : tasks) {
        const model::Task& t = *st.task;
        b.uuid(t.id);
        b.varint(tenants.index(t.tenant_id));
        b.varint(types.index(t.type));
        b.short_string(*t.payload);
        const std::int64_t created = model::to_micros(t.created_at);
        b.svarint(created - previous_created);
        previous_created = created;
        std::uint8_t flags = static_cast<std::uint8_t>(t.status);
        if (t.agent_id) flags |= kHasAgent;
        if (t.result) flags |= kHasResult;
        if (t.lease_expires_at) flags |= kHasLease;
        if (st.idempotency_key) flags |= kHasKey;
        if (t.schedule.priority != model::kDefaultPriority) flags |= kHasPriority;
        if (t.schedule.delayed()) flags |= kHasNotBefore;
        b.u8(flags);
        b.varint(t.max_attempts);
        b.varint(t.lease_seconds);
        b.varint(t.attempts);
        b.varint(t.version);
        const std::int64_t updated = model::to_micros(t.updated_at);
        b.svarint(updated - created);
        if (t.agent_id) b.varint(agents.index(*t.agent_id));
        if (t.result) b.short_string(*t.result);
        if (t.lease_expires_at) b.svarint(model::to_micros(*t.lease_expires_at) - updated);
        if (st.idempotency_key) b.short_string(*st.idempotency_key);
        if (flags & kHasPriority) b.u8(t.schedule.priority);
        if (flags & kHasNotBefore) b.svarint(model::to_micros(t.schedule.not_before) - created);
    }
    std::string out;
    out.reserve(body.size() + 64 + 16 * (tenants.items().size() + agents.items().size()));
    Encoder e(out);
    e.varint(tasks.size());
    e.varint(tenants.items().size());
    for (const auto& id : tenants.items()) e.uuid(id);
    e.varint(types.items().size());
    for (const auto& type : types.items()) e.short_string(type);
    e.varint(agents.items().size());
    for (const auto& id : agents.items()) e.uuid(id);
    out += body;
    return out;
}

namespace {
std::optional<SnapshotTasks> get_snapshot_tasks(Decoder& d) {
    const std::uint64_t count = d.varint();
    if (count > d.remaining() / kMinSnapshotTaskBytes) return std::nullopt;
    auto read_uuids = [&](std::vector<model::Uuid>& out) {
        const std::uint64_t n = d.varint();
        if (n > d.remaining() / 16) return false;
        out.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) out.push_back(d.uuid());
        return d.ok();
    };
    std::vector<model::Uuid> tenants, agents;
    std::vector<std::string> types;
    if (!read_uuids(tenants)) return std::nullopt;
    const std::uint64_t n_types = d.varint();
    if (n_types > d.remaining()) return std::nullopt;
    for (std::uint64_t i = 0; i < n_types && d.ok(); ++i) types.emplace_back(d.short_string());
    if (!d.ok() || !read_uuids(agents)) return std::nullopt;

    SnapshotTasks out;
    out.tasks.reserve(count);
    std::int64_t previous_created = 0;
    for (std::uint64_t i = 0; i < count && d.ok(); ++i) {
        TaskCreated& c = out.tasks.emplace_back();
        model::Task& t = c.task;
        t.id = d.uuid();
        const std::uint64_t tenant = d.varint(), type = d.varint();
        if (tenant >= tenants.size() || type >= types.size()) return std::nullopt;
        t.tenant_id = tenants[tenant];
        t.type = types[type];
        t.payload = model::make_json_text(d.short_string());
        const std::int64_t created = previous_created + d.svarint();
        previous_created = created;
        t.created_at = model::from_micros(created);
        const std::uint8_t flags = d.u8();
        if (flags & ~kKnownFlags) return std::nullopt;
        t.status = static_cast<model::Status>(flags & 3);
        t.max_attempts = d.varint32();
        t.lease_seconds = d.varint32();
        t.attempts = d.varint32();
        t.version = d.varint();
        const std::int64_t updated = created + d.svarint();
        t.updated_at = model::from_micros(updated);
        if (flags & kHasAgent) {
            const std::uint64_t agent = d.varint();
            if (agent >= agents.size()) return std::nullopt;
            t.agent_id = agents[agent];
        }
        if (flags & kHasResult) t.result = model::make_json_text(d.short_string());
        if (flags & kHasLease) t.lease_expires_at = model::from_micros(updated + d.svarint());
        if (flags & kHasKey) c.idempotency_key = std::string(d.short_string());
        if (flags & kHasPriority) {
            t.schedule.priority = d.u8();
            if (t.schedule.priority > model::kMaxPriority) return std::nullopt;
        }
        if (flags & kHasNotBefore) t.schedule.not_before = model::from_micros(created + d.svarint());
    }
    return out;
}
}  // namespace

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
            get_created_schedule(d, c.task);
            change = std::move(c);
            break;
        }
        case RecordType::task_claimed:
        case RecordType::task_updated:
        case RecordType::task_lease_expired: {
            TaskChanged c{get_state(d)};
            get_state_schedule(d, c.state);
            change = std::move(c);
            break;
        }
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
        case RecordType::snapshot_tasks: {
            auto c = get_snapshot_tasks(d);
            if (!c) return std::nullopt;
            change = std::move(*c);
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
