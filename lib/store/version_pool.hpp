// VersionPool: the memory every TaskVersion lives in.
//
// A store makes a version at every change of every task: a million of them at recovery, one
// a claim. From malloc each is a 64-byte chunk for 56 bytes, and at recovery malloc was an
// eighth of the replaying thread's time, most of it the first touch of fresh memory
// (doc/design.md, "Snapshots and recovery"). The pool carves versions from huge-page blocks
// (store/huge_pages.hpp), 56 bytes each, and keeps freed ones for the next.
//
// One pool for the process, as malloc is: versions move between no stores, and a pool per
// store would need every version to know its store. Freed memory is kept for the next
// versions, not given back to the system (the store keeps its slots' memory the same way).
//
// Thread-safety: allocate() and free() may be called from any thread; a mutex, held for a
// pointer swap, guards the free list. Claims allocate under the store's shared lock, so two
// may meet here; they meet on the journal's mutex anyway, for longer.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace taskd::store {

class VersionPool {
public:
    static VersionPool& instance();

    void* allocate();
    void free(void* cell) noexcept;

    static constexpr std::size_t kCellBytes = 56;

private:
    VersionPool() = default;  // instance() only; never destroyed
    struct Free {
        Free* next;
    };

    std::mutex mutex_;
    Free* free_ = nullptr;
    char* next_ = nullptr;  // the rest of the newest block
    char* end_ = nullptr;
    std::vector<void*> blocks_;
};

}  // namespace taskd::store
