// The payloads of journal and snapshot records (doc/journal_format.md, "Record types"):
// encoders called by the store as it changes, and one decoder used by recovery.
//
// State records carry a task's new state, not the command that made it, so replay never re-runs
// the transition table and a newer taskd reads an old journal exactly as it was meant.
#pragma once

#include "journal/record.hpp"
#include "model/agent.hpp"
#include "model/task.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace taskd::journal {

// What a change can alter of a task after it was created.
struct TaskState {
    model::Uuid id{};
    std::uint64_t version = 0;
    model::Status status = model::Status::pending;
    std::optional<model::Uuid> agent_id;
    model::JsonText result;
    std::uint32_t attempts = 0;
    std::optional<model::Timestamp> lease_expires_at;
    model::Timestamp updated_at{};
    // A re-queue or a release clears it (model/transition); kNoTime: none. (Priority is fixed at
    // create: task_created carries it.)
    model::Timestamp not_before = model::kNoTime;
};

TaskState state_of(const model::Task& task);
void apply_state(model::Task& task, const TaskState& state);

struct TaskCreated {
    model::Task task;
    std::optional<std::string> idempotency_key;
};
struct TaskChanged {  // task_claimed, task_updated, task_lease_expired
    TaskState state;
};
struct AgentRegistered {
    model::Agent agent;
};
struct AgentDeleted {
    model::Uuid id{};
    model::Timestamp at{};
    std::vector<TaskState> released;
};
struct TasksPurged {
    model::Timestamp at{};
    std::vector<model::Uuid> ids;
};
// snapshot_tasks: a run of tasks, each created with its whole state. Recovery hands them on
// one by one, as TaskCreated.
struct SnapshotTasks {
    std::vector<TaskCreated> tasks;
};
struct AgentSeen {
    model::Uuid id{};
    model::Timestamp at{};
};
struct SnapshotEnd {
    std::uint64_t agents = 0;
    std::uint64_t tasks = 0;
};
// snapshot_agent decodes to AgentRegistered (with last_seen_at), snapshot_task to TaskCreated
// (with the whole state).

using Change = std::variant<TaskCreated, TaskChanged, AgentRegistered, AgentDeleted, TasksPurged, AgentSeen, SnapshotEnd,
                            SnapshotTasks>;

// A task as a snapshot holds it.
struct SnapshotTask {
    const model::Task* task = nullptr;
    std::optional<std::string> idempotency_key;
};

// nullopt when the payload does not hold what its type says (damage that passed the CRC, or a
// bug): recovery treats it as corruption.
std::optional<Change> decode_change(RecordType type, std::span<const std::uint8_t> payload);

std::string encode_task_created(const model::Task& task, const std::optional<std::string>& idempotency_key);
std::string encode_task_state(const model::Task& task);
std::string encode_agent_registered(const model::Agent& agent);
std::string encode_agent_deleted(const model::Uuid& id, model::Timestamp at, const std::vector<model::Task>& released);
std::string encode_tasks_purged(model::Timestamp at, const std::vector<model::Uuid>& ids);
std::string encode_agent_seen(const model::Uuid& id, model::Timestamp at);

std::string encode_snapshot_agent(const model::Agent& agent);
// The format of version 1 snapshots, still read; written only by tests.
std::string encode_snapshot_task(const model::Task& task, const std::optional<std::string>& idempotency_key);
// Up to kMaxSnapshotBatch tasks in one snapshot_tasks record.
std::string encode_snapshot_tasks(std::span<const SnapshotTask> tasks);
inline constexpr std::size_t kMaxSnapshotBatch = 512;
std::string encode_snapshot_end(std::uint64_t agents, std::uint64_t tasks);

}  // namespace taskd::journal
