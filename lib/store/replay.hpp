// Store::Replay's index thread: during recovery, the store's ordered indices are kept by a
// second thread, fed in order with what the replaying thread would have done to them.
//
// Replaying a journal is one thread's work per record (decode, allocate, insert into the task
// table) plus four or five ordered-set inserts per task, which were a third of the time of
// recovering a million tasks (taskd-recovery-bench, BENCHMARKS.md). The sets are read by
// nothing but listings, which do not run during recovery, so their work can trail behind:
// index()/unindex()/reindex() queue an operation here and return, and this thread applies the
// queue in order with Indices::add()/remove()/move(). finish() waits until it has caught up.
//
// Thread-safety and lifetimes: add(), remove(), move(), keep() and finish() are called by the thread
// that holds the store's exclusive lock for the replay. The index thread touches only the
// ordered sets (their maps and each slot's hooks and indexed_* fields), which nothing else
// touches until finish() returns; it reads a slot's immutable key and tenant. A
// slot erased meanwhile is kept alive (keep()) until finish(), since its unindex may be
// still to come.
#pragma once

#include "store/store.hpp"
#include "util/batch_channel.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace taskd::store {

class Store::Replay::IndexThread {
public:
    explicit IndexThread(Indices& indices);
    ~IndexThread();  // finish()es
    IndexThread(const IndexThread&) = delete;
    IndexThread& operator=(const IndexThread&) = delete;

    void add(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent) {
        ops_.push(Op{slot, Op::index, status, agent});
    }
    void remove(TaskSlot* slot) { ops_.push(Op{slot, Op::unindex, model::Status::pending, std::nullopt}); }
    void move(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent) {
        ops_.push(Op{slot, Op::reindex, status, agent});
    }
    void keep(std::unique_ptr<TaskSlot> erased) { erased_.push_back(std::move(erased)); }
    // Applies everything queued, then stops the thread and frees the kept slots.
    void finish();

private:
    struct Op {
        TaskSlot* slot;
        enum Kind : std::uint8_t { index, unindex, reindex } kind;
        model::Status status;
        std::optional<Uuid> agent;
    };
    void run();

    Indices& indices_;
    util::BatchChannel<Op> ops_;
    std::vector<std::unique_ptr<TaskSlot>> erased_;
    std::thread thread_;  // last: starts once the rest exists
};

}  // namespace taskd::store
