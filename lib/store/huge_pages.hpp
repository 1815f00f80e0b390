// Huge pages for the store's large arrays: the slot blocks and the id table.
//
// A million tasks spread over some 200 MB that recovery writes once and lookups read at random:
// with 4 KiB pages that is a page fault per 4 KiB written and a TLB miss at nearly every random
// read. Asking the kernel for transparent huge pages (2 MiB) on these arrays, and only these,
// made recovery some 20 % faster (doc/design.md, "Snapshots and recovery"); a huge page is
// given whole, so an array is rounded up to 2 MiB, a few bytes a task at a million.
// Where transparent huge pages are off (`never`) madvise() is a hint the kernel ignores.
//
// glibc can do this for the whole heap (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), but only from
// the environment the process starts in, and it cost 9-11 bytes a task when tried.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace taskd::store {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// `bytes` rounded up to whole huge pages, aligned to one, and marked for huge pages.
inline void* allocate_huge(std::size_t bytes) {
    const std::size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* block = ::operator new(rounded, std::align_val_t{kHugePageBytes});
    (void)::madvise(block, rounded, MADV_HUGEPAGE);
    return block;
}
inline void free_huge(void* block) { ::operator delete(block, std::align_val_t{kHugePageBytes}); }

// An allocator that asks for huge pages for arrays of at least one huge page; smaller ones come
// from malloc as usual (a table of a few tasks must not cost 2 MiB).
template <class T>
struct HugePageAllocator {
    using value_type = T;
    HugePageAllocator() = default;
    template <class U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        const std::size_t bytes = n * sizeof(T);
        if (bytes < kHugePageBytes) return static_cast<T*>(::operator new(bytes));
        return static_cast<T*>(allocate_huge(bytes));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < kHugePageBytes) ::operator delete(p);
        else free_huge(p);
    }
    template <class U>
    friend bool operator==(const HugePageAllocator&, const HugePageAllocator<U>&) noexcept {
        return true;
    }
};

}  // namespace taskd::store
