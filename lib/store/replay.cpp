#include "store/replay.hpp"

namespace taskd::store {
namespace {
// Operations handed over at a time: one lock and wake-up per batch, not per operation.
constexpr std::size_t kBatch = 4096;
// Batches the replaying thread may be ahead by (ops are 40 bytes: 10 MiB at most).
constexpr std::size_t kMaxBatchesWaiting = 64;
}  // namespace

// --- Store::Replay ---

Store::Replay::Replay(Store& store) : store_(store), lock_(store.lock_exclusive(false)) {
    // The claim queues are built once, from the result, when the replay ends.
    store_.indices_.mark_queues_stale();
    indexer_ = std::make_unique<IndexThread>(store_.indices_);
    store_.indexer_ = indexer_.get();
}

Store::Replay::~Replay() {
    indexer_->finish();
    store_.indexer_ = nullptr;
    indexer_.reset();
    store_.indices_.rebuild_queues();
}

// --- the dispatch in Store ---

void Store::index(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent) const {
    if (indexer_) return indexer_->add(slot, status, agent);
    indices_.add(slot, status, agent);
}

void Store::unindex(TaskSlot* slot) const {
    if (indexer_) return indexer_->remove(slot);
    indices_.remove(slot);
}

void Store::reindex(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent) const {
    if (indexer_) return indexer_->move(slot, status, agent);
    indices_.move(slot, status, agent);
}

// --- IndexThread ---

Store::Replay::IndexThread::IndexThread(Indices& indices)
    : indices_(indices), ops_(kBatch, kMaxBatchesWaiting), thread_([this] { run(); }) {}

Store::Replay::IndexThread::~IndexThread() { finish(); }

void Store::Replay::IndexThread::finish() {
    if (!thread_.joinable()) return;
    ops_.close();
    thread_.join();
    erased_.clear();
}

void Store::Replay::IndexThread::run() {
    while (auto batch = ops_.pop()) {
        for (const Op& op : *batch) {
            switch (op.kind) {
                case Op::index: indices_.add(op.slot, op.status, op.agent); break;
                case Op::unindex: indices_.remove(op.slot); break;
                case Op::reindex: indices_.move(op.slot, op.status, op.agent); break;
            }
        }
    }
}

}  // namespace taskd::store
