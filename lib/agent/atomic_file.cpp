#include "agent/atomic_file.hpp"

#include "agent/unique_fd.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace taskd::agent {
namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

Failure os_failure(std::string_view what, std::string_view shown, int e) {
    return fail(std::string(what) + " " + quoted(shown) + ": " + std::strerror(e));
}

// A name no one else uses in that directory: the target's name (so that an operator who finds
// a leftover knows whose it is) and 64 random bits.
std::string temp_name(const std::string& name) {
    unsigned char random[8] = {};
    if (RAND_bytes(random, sizeof random) != 1) {
        const auto t = static_cast<unsigned long long>(::getpid()) ^ reinterpret_cast<std::uintptr_t>(&random);
        std::memcpy(random, &t, sizeof random);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "." + name.substr(0, 200) + ".taskd-";
    for (unsigned char b : random) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

}  // namespace

Outcome<std::optional<FileContent>> read_file_at(int dir_fd, const std::string& name, std::string_view shown) {
    UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        const int e = errno;
        if (e == ENOENT) return std::optional<FileContent>{};
        if (e == ELOOP) return fail(quoted(shown) + " is a symbolic link; the agent follows none below --allow-root");
        return os_failure("cannot open", shown, e);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return os_failure("cannot stat", shown, errno);
    if (!S_ISREG(st.st_mode)) return fail(quoted(shown) + " is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > kMaxReadBytes)
        return fail(quoted(shown) + " is larger than " + std::to_string(kMaxReadBytes) + " bytes");
    FileContent out;
    out.mode = st.st_mode & 07777;
    out.bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    for (;;) {
        if (got == out.bytes.size()) {
            if (out.bytes.size() >= kMaxReadBytes)
                return fail(quoted(shown) + " is larger than " + std::to_string(kMaxReadBytes) + " bytes");
            out.bytes.resize(out.bytes.size() + 4096);  // it grew since fstat: read on to its end
        }
        const ssize_t n = ::read(fd.get(), out.bytes.data() + got, out.bytes.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_failure("cannot read", shown, errno);
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.bytes.resize(got);
    return std::optional<FileContent>(std::move(out));
}

Outcome<void> replace_file(int dir_fd, const std::string& name, std::string_view content, mode_t mode,
                           std::string_view shown) {
    // rename() would replace a symlink rather than follow it, which is safe, but an operator who
    // put a link there meant something by it: refuse and leave it.
    struct stat st {};
    const bool exists = ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists) {
        if (S_ISLNK(st.st_mode))
            return fail(quoted(shown) + " is a symbolic link; the agent follows none below --allow-root");
        if (S_ISDIR(st.st_mode)) return fail(quoted(shown) + " is a directory");
    }
    const std::string temp = temp_name(name);
    UniqueFd fd(::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777));
    if (!fd) return os_failure("cannot create a temporary file beside", shown, errno);
    auto abandon = [&](Failure f) {
        fd.reset();
        ::unlinkat(dir_fd, temp.c_str(), 0);
        return f;
    };
    // The file keeps its owner: an agent running as root that rewrote an application's .env as
    // root:root 0640 would lock the application out of it. (Not root, the agent can only give
    // files to itself: EPERM leaves the new file its own, which is all it could write anyway.)
    if (exists && (st.st_uid != ::geteuid() || st.st_gid != ::getegid()) &&
        ::fchown(fd.get(), st.st_uid, st.st_gid) != 0 && errno != EPERM)
        return abandon(os_failure("cannot chown the temporary file of", shown, errno));
    // The umask narrowed the mode at create; the task asked for exactly this one.
    if (::fchmod(fd.get(), mode & 0777) != 0) return abandon(os_failure("cannot chmod the temporary file of", shown, errno));
    while (!content.empty()) {
        const ssize_t n = ::write(fd.get(), content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return abandon(os_failure("cannot write", shown, errno));
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd.get()) != 0) return abandon(os_failure("cannot fsync", shown, errno));
    fd.reset();
    if (::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0)
        return abandon(os_failure("cannot rename the temporary file over", shown, errno));
    // Without this the rename itself may not survive a power loss.
    if (::fsync(dir_fd) != 0) return os_failure("cannot fsync the directory of", shown, errno);
    return {};
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

}  // namespace taskd::agent
