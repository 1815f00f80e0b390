// Small POSIX file helpers that the journal, the admin token and the agent share.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <filesystem>
#include <string_view>
#include <sys/types.h>

namespace taskd::util {

// Replaces `path` with `content` so that a crash leaves either the old file or the new one,
// never a mix: write a temp file in the same directory, fsync it, rename it over `path`, fsync
// the directory (without the last step the rename itself may not survive power loss).
boost::system::result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                              mode_t mode);

// fsync of a directory, so that entries created, renamed or removed in it are durable.
boost::system::result<void> fsync_directory(const std::filesystem::path& dir);

// An exclusive lock on <dir>/LOCK (flock), held while the object lives: two processes writing
// one journal would interleave their records.
class DirectoryLock {
public:
    static boost::system::result<DirectoryLock> acquire(const std::filesystem::path& dir);
    DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    DirectoryLock& operator=(DirectoryLock&&) = delete;
    ~DirectoryLock();

private:
    explicit DirectoryLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace taskd::util
