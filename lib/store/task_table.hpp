// TaskTable: the store's tasks by id. It owns their slots.
//
// A set of slot pointers hashed by the id each slot holds, not a map from id to pointer: an
// entry is 8 bytes, not 24. At a million tasks the table is about half full (its groups
// double), so that is some 30 bytes a task (doc/design.md, "Memory per task"). The price is a
// read of the slot wherever the map read its key: a lookup reads it to compare (and then reads
// the slot anyway), a rehash to hash every entry, which is why recovery reserves the size of
// its snapshot first (reserve()).
//
// Thread-safety: none of its own; lookups under the store's lock, changes under it exclusively.
#pragma once

#include "store/task_key.hpp"
#include "store/task_slot.hpp"

#include <boost/unordered/unordered_flat_set.hpp>

#include <cstddef>
#include <memory>

namespace taskd::store {

class TaskTable {
public:
    TaskTable() = default;
    ~TaskTable() {
        for (TaskSlot* slot : slots_) delete slot;
    }
    TaskTable(const TaskTable&) = delete;
    TaskTable& operator=(const TaskTable&) = delete;

    TaskSlot* find(const Uuid& id) const {
        auto it = slots_.find(id);
        return it == slots_.end() ? nullptr : *it;
    }
    // The table's own slot, or nullptr (and `slot` freed) when one with its id is there already.
    TaskSlot* insert(std::unique_ptr<TaskSlot> slot) {
        auto [at, fresh] = slots_.insert(slot.get());
        if (!fresh) return nullptr;
        return slot.release();
    }
    // Erases and frees `slot`, which must be in the table.
    void erase(TaskSlot* slot) {
        slots_.erase(slot->key.id);
        delete slot;
    }
    void reserve(std::size_t n) { slots_.reserve(n); }
    std::size_t size() const { return slots_.size(); }
    // In the table's order, which is no order.
    template <class F>
    void for_each(F&& f) const {
        for (const TaskSlot* slot : slots_) f(*slot);
    }

private:
    struct ById {
        using is_transparent = void;
        std::size_t operator()(const Uuid& id) const noexcept { return UuidHash{}(id); }
        std::size_t operator()(const TaskSlot* slot) const noexcept { return UuidHash{}(slot->key.id); }
        bool operator()(const TaskSlot* a, const TaskSlot* b) const noexcept { return a->key.id == b->key.id; }
        bool operator()(const Uuid& a, const TaskSlot* b) const noexcept { return a == b->key.id; }
        bool operator()(const TaskSlot* a, const Uuid& b) const noexcept { return a->key.id == b; }
    };
    boost::unordered_flat_set<TaskSlot*, ById, ById> slots_;
};

}  // namespace taskd::store
