// TaskTable: the store's tasks by id. It owns their slots, and the memory they live in.
//
// A set of slot pointers hashed by the id each slot holds, not a map from id to pointer: an
// entry is 8 bytes, not 24. At a million tasks the table is about half full (its groups
// double), so that is some 30 bytes a task (doc/design.md, "Memory per task"). The price is a
// read of the slot wherever the map read its key: a lookup reads it to compare (and then reads
// the slot anyway), a rehash to hash every entry, which is why recovery reserves the size of
// its snapshot first (reserve()).
//
// Slots come from blocks of one huge page (2 MiB, store/huge_pages.hpp), not from malloc one
// by one, which would round a 184-byte slot up to a 192-byte chunk; a freed slot's place is the
// next one given out. The id table's array asks for huge pages too: a lookup reads it at
// random. The table also holds the task types its slots name (TypeNames).
//
// A snapshot being written reads the slots it captured outside the store's lock, so a slot
// erased meanwhile is kept, unlinked, until free_erased() (its version, payload and type
// with it). Under AddressSanitizer a place not in use is poisoned, so that a slot used after
// its task was erased is still caught, as it was when malloc gave them.
//
// Thread-safety: none of its own; lookups under the store's lock, changes under it exclusively.
#pragma once

#include "store/huge_pages.hpp"
#include "store/task_key.hpp"
#include "store/task_slot.hpp"

#include <boost/unordered/unordered_flat_set.hpp>
#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace taskd::store {

class TaskTable {
public:
    TaskTable() = default;
    ~TaskTable() {
        for (TaskSlot* slot : slots_) slot->~TaskSlot();
        for (TaskSlot* slot : erased_) slot->~TaskSlot();
        for (void* block : blocks_) {
            ASAN_UNPOISON_MEMORY_REGION(block, kSlotsPerBlock * sizeof(TaskSlot));
            free_huge(block);
        }
    }
    TaskTable(const TaskTable&) = delete;
    TaskTable& operator=(const TaskTable&) = delete;

    TaskSlot* find(const Uuid& id) const {
        auto it = slots_.find(id);
        return it == slots_.end() ? nullptr : *it;
    }
    // A new slot for `first`, or nullptr (and nothing kept) when a task with its id is there
    // already.
    TaskSlot* insert(model::Task&& first) {
        const TypeNames::Name* type = types_.acquire(first.type);
        auto* slot = new (allocate()) TaskSlot(std::move(first), type);
        // One lookup for "is it new" and "where does it go" (recovery inserts a million).
        if (slots_.insert(slot).second) return slot;
        destroy(slot);
        return nullptr;
    }
    // Erases `slot`, which must be in the table, and frees it at once unless `keep` (a snapshot
    // may be reading it): then at the next free_erased().
    void erase(TaskSlot* slot, bool keep) {
        slots_.erase(slot->key.id);
        if (keep) erased_.push_back(slot);
        else destroy(slot);
    }
    // Frees the slots erase() kept. Only when no snapshot can be reading them.
    void free_erased() {
        for (TaskSlot* slot : erased_) destroy(slot);
        erased_.clear();
    }
    void reserve(std::size_t n) { slots_.reserve(n); }
    std::size_t size() const { return slots_.size(); }
    // In the table's order, which is no order.
    template <class F>
    void for_each(F&& f) const {
        for (const TaskSlot* slot : slots_) f(*slot);
    }

private:
    static constexpr std::size_t kSlotsPerBlock = kHugePageBytes / sizeof(TaskSlot);
    struct Free {
        Free* next;
    };
    static_assert(sizeof(TaskSlot) >= sizeof(Free) && alignof(TaskSlot) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

    void* allocate() {
        void* place;
        if (free_) {
            ASAN_UNPOISON_MEMORY_REGION(free_, sizeof(TaskSlot));
            place = std::exchange(free_, free_->next);
        } else {
            if (blocks_.empty() || used_ == kSlotsPerBlock) {
                blocks_.push_back(allocate_huge(kSlotsPerBlock * sizeof(TaskSlot)));
                ASAN_POISON_MEMORY_REGION(blocks_.back(), kSlotsPerBlock * sizeof(TaskSlot));
                used_ = 0;
            }
            place = static_cast<char*>(blocks_.back()) + used_++ * sizeof(TaskSlot);
            ASAN_UNPOISON_MEMORY_REGION(place, sizeof(TaskSlot));
        }
        return place;
    }
    void destroy(TaskSlot* slot) {
        types_.release(slot->type);
        slot->~TaskSlot();
        free_ = new (static_cast<void*>(slot)) Free{free_};
        ASAN_POISON_MEMORY_REGION(slot, sizeof(TaskSlot));
    }

    struct ById {
        using is_transparent = void;
        std::size_t operator()(const Uuid& id) const noexcept { return UuidHash{}(id); }
        std::size_t operator()(const TaskSlot* slot) const noexcept { return UuidHash{}(slot->key.id); }
        bool operator()(const TaskSlot* a, const TaskSlot* b) const noexcept { return a->key.id == b->key.id; }
        bool operator()(const Uuid& a, const TaskSlot* b) const noexcept { return a == b->key.id; }
        bool operator()(const TaskSlot* a, const Uuid& b) const noexcept { return a->key.id == b; }
    };
    boost::unordered_flat_set<TaskSlot*, ById, ById, HugePageAllocator<TaskSlot*>> slots_;
    TypeNames types_;
    std::vector<TaskSlot*> erased_;
    std::vector<void*> blocks_;
    std::size_t used_ = 0;  // of the last block
    Free* free_ = nullptr;
};

}  // namespace taskd::store
