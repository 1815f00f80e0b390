#include "store/version_pool.hpp"

#include "store/huge_pages.hpp"

#include <sanitizer/asan_interface.h>

namespace taskd::store {

VersionPool& VersionPool::instance() {
    // Never destroyed: versions of stores that outlive static destruction (a detached thread's
    // store at exit) must still find their pool.
    static VersionPool* pool = new VersionPool();
    return *pool;
}

void* VersionPool::allocate() {
    std::lock_guard lock(mutex_);
    if (free_) {
        // Under AddressSanitizer a cell not in use is poisoned, as malloc's would be.
        ASAN_UNPOISON_MEMORY_REGION(free_, kCellBytes);
        Free* cell = free_;
        free_ = cell->next;
        return cell;
    }
    if (end_ - next_ < static_cast<std::ptrdiff_t>(kCellBytes)) {
        blocks_.push_back(allocate_huge(kHugePageBytes));
        next_ = static_cast<char*>(blocks_.back());
        end_ = next_ + kHugePageBytes;
        ASAN_POISON_MEMORY_REGION(next_, kHugePageBytes);
    }
    void* cell = next_;
    next_ += kCellBytes;
    ASAN_UNPOISON_MEMORY_REGION(cell, kCellBytes);
    return cell;
}

void VersionPool::free(void* cell) noexcept {
    std::lock_guard lock(mutex_);
    free_ = new (cell) Free{free_};
    ASAN_POISON_MEMORY_REGION(cell, kCellBytes);
}

}  // namespace taskd::store
