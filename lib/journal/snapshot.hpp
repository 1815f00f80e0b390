// Snapshots: the whole state after one sequence number, so that recovery need not replay the
// journal from its beginning (doc/journal_format.md, "Snapshots").
//
// The store captures the state (under its shared lock: writers wait, readers do not); this
// file writes it atomically — temp file, fsync, rename, fsync the directory — and then removes
// the segments and older snapshots it covers. Runs on the maintenance thread, never on a
// request's.
#pragma once

#include "journal/change.hpp"
#include "journal/storage.hpp"
#include "model/agent.hpp"
#include "model/task.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace taskd::journal {

struct SnapshotData {
    std::uint64_t sequence = 0;  // the state after this record
    std::chrono::microseconds pause{};  // how long the capture held writers off
    std::vector<model::Agent> agents;
    // The tasks, in created_at order: read_task(i, ...) sets the i-th (i < task_count) and its
    // idempotency key. The capture copies only pointers while the store's writers wait; each
    // task is built from them as the file is written (Store::capture).
    std::size_t task_count = 0;
    std::function<void(std::size_t i, model::Task& task, std::optional<std::string>& idempotency_key)> read_task;
    // While this lives, the store frees none of what read_task reads.
    std::shared_ptr<void> hold;
};

struct SnapshotStats {
    std::uint64_t bytes = 0;
    std::size_t segments_removed = 0;
    std::size_t snapshots_removed = 0;
};

IoResult<SnapshotStats> write_snapshot(Storage& storage, const SnapshotData& data);

}  // namespace taskd::journal
