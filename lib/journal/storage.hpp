// Storage: the directory the journal lives in, as the few operations the journal needs.
//
// It is the seam for fault injection (a test storage fails the Nth write or sync, as Beast's
// fail_count does) and keeps POSIX calls out of the journal's logic. Not thread-safe by
// itself: the writer thread owns the file it appends to; recovery and snapshots run apart.
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace taskd::journal {

template <class T = void>
using IoResult = boost::system::result<T>;

class AppendFile {
public:
    virtual ~AppendFile() = default;
    // Writes all of `data` at the end of the file, or fails.
    virtual IoResult<> append(std::span<const std::uint8_t> data) = 0;
    // fdatasync: what was appended survives power loss once this returns.
    virtual IoResult<> sync() = 0;
    // Allocates the file's first `bytes` ahead of the appends, which then overwrite zeros: a
    // sync no longer has to commit a new size and new blocks (measured in BENCHMARKS.md). Best
    // effort: where the filesystem cannot (full, or no fallocate), the file grows as before.
    // Readers see zeros after the last append (doc/journal_format.md).
    virtual void reserve(std::uint64_t /*bytes*/) {}
    // Gives back what reserve() took past the last append: the file ends where the appends end,
    // and that size is durable once this returns. For a clean close; a file without a
    // reservation is left as it is.
    virtual IoResult<> trim() { return {}; }
};

// What a file takes: its size, and the bytes the filesystem allocated to it (st_blocks), which
// a reservation makes larger than the data written.
struct FileSpace {
    std::uint64_t size = 0;
    std::uint64_t allocated = 0;
};

// A whole file's bytes, mapped read-only for as long as the object lives.
class FileContents {
public:
    FileContents() = default;
    FileContents(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    ~FileContents();
    FileContents(FileContents&& other) noexcept;
    FileContents& operator=(FileContents&& other) noexcept;
    std::span<const std::uint8_t> bytes() const { return {data_, size_}; }

private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

class Storage {
public:
    virtual ~Storage() = default;
    // A new empty file (it must not exist), mode 0600, written from its start.
    virtual IoResult<std::unique_ptr<AppendFile>> create(const std::string& name) = 0;
    // An existing file, written from `offset` on: what lies there is overwritten. The writer
    // continues the last segment at the end of its records (recovery vouches that only unused
    // reservation, zeros, follows).
    virtual IoResult<std::unique_ptr<AppendFile>> open_append(const std::string& name, std::uint64_t offset) = 0;
    virtual IoResult<FileSpace> space(const std::string& name) = 0;
    virtual IoResult<std::vector<std::string>> list() = 0;
    virtual IoResult<FileContents> read(const std::string& name) = 0;
    virtual IoResult<> truncate(const std::string& name, std::uint64_t size) = 0;
    virtual IoResult<> rename(const std::string& from, const std::string& to) = 0;
    virtual IoResult<> remove(const std::string& name) = 0;
    // fsync of the directory: creates, renames and removes survive power loss once it returns.
    virtual IoResult<> sync_directory() = 0;
};

std::unique_ptr<Storage> make_posix_storage(const std::filesystem::path& dir);

}  // namespace taskd::journal
