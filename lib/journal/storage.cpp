#include "journal/storage.hpp"

#include "util/file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace taskd::journal {
namespace {

boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }

class PosixAppendFile final : public AppendFile {
public:
    PosixAppendFile(int fd, off_t offset) : fd_(fd), offset_(offset) {}
    ~PosixAppendFile() override { ::close(fd_); }

    // pwrite at our own offset rather than O_APPEND: after reserve() the file's size is the
    // reservation, not the end of the data.
    IoResult<> append(std::span<const std::uint8_t> data) override {
        while (!data.empty()) {
            const ssize_t n = ::pwrite(fd_, data.data(), data.size(), offset_);
            if (n < 0) {
                if (errno == EINTR) continue;
                return last_error();
            }
            data = data.subspan(static_cast<std::size_t>(n));
            offset_ += n;
        }
        return {};
    }

    IoResult<> sync() override {
        if (::fdatasync(fd_) != 0) return last_error();
        return {};
    }

    void reserve(std::uint64_t bytes) override {
        // Ignored on failure: the appends then allocate as they go, and a full disk shows up
        // as a failed write, as without a reservation.
        (void)::posix_fallocate(fd_, 0, static_cast<off_t>(bytes));
    }

    // fsync, not fdatasync: a smaller size is metadata that reading the data does not need.
    IoResult<> trim() override {
        struct stat st {};
        if (::fstat(fd_, &st) != 0) return last_error();
        if (st.st_size <= offset_) return {};
        if (::ftruncate(fd_, offset_) != 0 || ::fsync(fd_) != 0) return last_error();
        return {};
    }

private:
    int fd_;
    off_t offset_;
};

class PosixStorage final : public Storage {
public:
    explicit PosixStorage(std::filesystem::path dir) : dir_(std::move(dir)) {}

    IoResult<std::unique_ptr<AppendFile>> create(const std::string& name) override {
        const int fd = ::open(path(name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return last_error();
        return std::unique_ptr<AppendFile>(std::make_unique<PosixAppendFile>(fd, 0));
    }

    IoResult<std::unique_ptr<AppendFile>> open_append(const std::string& name, std::uint64_t offset) override {
        const int fd = ::open(path(name).c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return last_error();
        return std::unique_ptr<AppendFile>(std::make_unique<PosixAppendFile>(fd, static_cast<off_t>(offset)));
    }

    IoResult<FileSpace> space(const std::string& name) override {
        struct stat st {};
        if (::stat(path(name).c_str(), &st) != 0) return last_error();
        // st_blocks counts 512-byte units whatever the filesystem's block size (stat(2)).
        return FileSpace{static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_blocks) * 512};
    }

    IoResult<std::vector<std::string>> list() override {
        std::error_code ec;
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) names.push_back(entry.path().filename());
        if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
        return names;
    }

    IoResult<FileContents> read(const std::string& name) override {
        const int fd = ::open(path(name).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return last_error();
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const auto ec = last_error();
            ::close(fd);
            return ec;
        }
        const auto size = static_cast<std::size_t>(st.st_size);
        if (size == 0) {
            ::close(fd);
            return FileContents{};
        }
        // MAP_POPULATE: one pass of read-ahead instead of a page fault per 4 KiB, which in a VM
        // cost more than recovery itself.
        void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        const auto ec = last_error();
        ::close(fd);
        if (data == MAP_FAILED) return ec;
        ::madvise(data, size, MADV_SEQUENTIAL);
        return FileContents(static_cast<const std::uint8_t*>(data), size);
    }

    IoResult<> truncate(const std::string& name, std::uint64_t size) override {
        const int fd = ::open(path(name).c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return last_error();
        const bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0 && ::fsync(fd) == 0;
        const auto ec = last_error();
        ::close(fd);
        if (!ok) return ec;
        return {};
    }

    IoResult<> rename(const std::string& from, const std::string& to) override {
        if (::rename(path(from).c_str(), path(to).c_str()) != 0) return last_error();
        return {};
    }

    IoResult<> remove(const std::string& name) override {
        if (::unlink(path(name).c_str()) != 0) return last_error();
        return {};
    }

    IoResult<> sync_directory() override { return util::fsync_directory(dir_); }

private:
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    std::filesystem::path dir_;
};

}  // namespace

FileContents::~FileContents() {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

FileContents::FileContents(FileContents&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
}

FileContents& FileContents::operator=(FileContents&& other) noexcept {
    if (this != &other) {
        if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

std::unique_ptr<Storage> make_posix_storage(const std::filesystem::path& dir) { return std::make_unique<PosixStorage>(dir); }

}  // namespace taskd::journal
