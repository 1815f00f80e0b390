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
    store_.queues_stale_.store(true, std::memory_order_relaxed);
    indexer_ = std::make_unique<IndexThread>(store_);
    store_.indexer_ = indexer_.get();
}

Store::Replay::~Replay() {
    indexer_->finish();
    store_.indexer_ = nullptr;
    indexer_.reset();
    store_.rebuild_queues();
}

// --- the dispatch in Store ---

void Store::index(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent) const {
    if (indexer_) return indexer_->add(slot, status, agent);
    index_now(slot, status, agent);
}

void Store::unindex(TaskSlot* slot) const {
    if (indexer_) return indexer_->remove(slot);
    unindex_now(slot);
}

void Store::reindex(TaskSlot* slot, model::Status status, const std::optional<Uuid>& agent) const {
    if (indexer_) return indexer_->move(slot, status, agent);
    reindex_now(slot, status, agent);
}

// --- IndexThread ---

Store::Replay::IndexThread::IndexThread(const Store& store)
    : store_(store), ops_(kBatch, kMaxBatchesWaiting), thread_([this] { run(); }) {}

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
                case Op::index: store_.index_now(op.slot, op.status, op.agent); break;
                case Op::unindex: store_.unindex_now(op.slot); break;
                case Op::reindex: store_.reindex_now(op.slot, op.status, op.agent); break;
            }
        }
    }
}

}  // namespace taskd::store
