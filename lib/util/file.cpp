#include "util/file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <string>
#include <unistd.h>

namespace taskd::util {
namespace {

boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }

// Closes the descriptor on every path out of write_file_atomic.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

boost::system::result<DirectoryLock> DirectoryLock::acquire(const std::filesystem::path& dir) {
    const int fd = ::open((dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return last_error();
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const auto ec = last_error();
        ::close(fd);
        return ec;
    }
    return DirectoryLock(fd);
}

DirectoryLock::~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);
}

boost::system::result<void> fsync_directory(const std::filesystem::path& dir) {
    Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0) return last_error();
    if (::fsync(d.fd) != 0) return last_error();
    return {};
}

boost::system::result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                              mode_t mode) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const auto temp = std::filesystem::path(path.string() + ".tmp");
    {
        Fd f{::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)};
        if (f.fd < 0) return last_error();
        // The umask may have narrowed `mode` at create; an existing temp file kept its own.
        if (::fchmod(f.fd, mode) != 0) return last_error();
        while (!content.empty()) {
            const ssize_t n = ::write(f.fd, content.data(), content.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                return last_error();
            }
            content.remove_prefix(static_cast<std::size_t>(n));
        }
        if (::fsync(f.fd) != 0) return last_error();
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) return last_error();
    return fsync_directory(dir);
}

}  // namespace taskd::util
