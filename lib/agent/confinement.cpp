#include "agent/confinement.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace taskd::agent {
namespace {

// Splits an absolute path into its components ("//a///b/" -> a, b).
std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        const std::size_t j = path.find('/', i);
        const std::size_t end = j == std::string_view::npos ? path.size() : j;
        if (end > i) out.emplace_back(path.substr(i, end - i));
        i = end;
    }
    return out;
}

bool has_prefix(const std::vector<std::string>& full, const std::vector<std::string>& prefix) {
    if (prefix.size() > full.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (full[i] != prefix[i]) return false;
    return true;
}

std::string quoted(std::string_view path) { return "\"" + std::string(path) + "\""; }

std::string errno_text(int e) { return std::strerror(e); }

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

}  // namespace

Outcome<Roots> Roots::open(const std::vector<std::string>& dirs) {
    Roots r;
    for (const auto& dir : dirs) {
        if (dir.empty() || dir.front() != '/') return fail("--allow-root " + quoted(dir) + " is not an absolute path");
        char resolved[PATH_MAX];
        if (!::realpath(dir.c_str(), resolved))
            return fail("--allow-root " + quoted(dir) + ": " + errno_text(errno));
        const int fd = ::open(resolved, kDirFlags);
        if (fd < 0) return fail("--allow-root " + quoted(dir) + ": " + errno_text(errno));
        r.roots_.push_back(Root{split(dir), split(resolved), std::make_shared<UniqueFd>(fd)});
        r.shown_.emplace_back(resolved);
    }
    if (r.roots_.empty()) return fail("no --allow-root given: the agent refuses to write anywhere");
    return r;
}

Outcome<std::pair<const Roots::Root*, std::vector<std::string>>> Roots::locate(std::string_view path) const {
    if (path.empty() || path.front() != '/') return fail("path " + quoted(path) + " is not absolute");
    if (path.find('\0') != std::string_view::npos) return fail("path holds a NUL byte");
    if (path.size() >= PATH_MAX) return fail("path is longer than PATH_MAX");
    const auto parts = split(path);
    for (const auto& p : parts)
        if (p == "." || p == "..")
            return fail("path " + quoted(path) + " has a \"" + p + "\" component; paths must be plain");
    // The longest matching root wins, so that nested roots behave as expected.
    const Root* best = nullptr;
    std::size_t best_len = 0;
    for (const auto& root : roots_) {
        for (const auto* form : {&root.given, &root.resolved}) {
            if (has_prefix(parts, *form) && (!best || form->size() > best_len)) {
                best = &root;
                best_len = form->size();
            }
        }
    }
    if (!best) return fail("path " + quoted(path) + " is outside every --allow-root");
    return std::pair{best, std::vector<std::string>(parts.begin() + static_cast<std::ptrdiff_t>(best_len), parts.end())};
}

Outcome<UniqueFd> Roots::open_below(const Root& root, const std::vector<std::string>& components,
                                    std::string_view path) const {
    if (pause_hook_) pause_hook_(path);
    if (components.empty()) {
        const int fd = ::fcntl(root.fd->get(), F_DUPFD_CLOEXEC, 0);
        if (fd < 0) return fail("cannot open " + quoted(path) + ": " + errno_text(errno));
        return UniqueFd(fd);
    }
    if (use_openat2_) {
        // One call; the kernel refuses any symlink and any step out of the root's tree.
        std::string relative;
        for (const auto& c : components) relative.append(relative.empty() ? "" : "/").append(c);
        open_how how{};
        how.flags = kDirFlags;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        const long fd = ::syscall(SYS_openat2, root.fd->get(), relative.c_str(), &how, sizeof how);
        if (fd >= 0) return UniqueFd(static_cast<int>(fd));
        // Any failure (ENOSYS on an old kernel, a seccomp filter, or a real refusal) falls to
        // the walk below, which is as strict and says which component is wrong.
    }
    UniqueFd dir(::fcntl(root.fd->get(), F_DUPFD_CLOEXEC, 0));
    if (!dir) return fail("cannot open " + quoted(path) + ": " + errno_text(errno));
    std::string walked;
    for (const auto& c : root.resolved) walked.append("/").append(c);
    for (const auto& c : components) {
        walked.append("/").append(c);
        const int fd = ::openat(dir.get(), c.c_str(), kDirFlags | O_NOFOLLOW);
        if (fd < 0) {
            const int e = errno;
            struct stat st {};
            if (::fstatat(dir.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return fail(quoted(walked) + " is a symbolic link; the agent follows none below --allow-root");
            if (e == ENOENT) return fail("directory " + quoted(walked) + " does not exist");
            if (e == ENOTDIR) return fail(quoted(walked) + " is not a directory");
            return fail("cannot open " + quoted(walked) + ": " + errno_text(e));
        }
        dir = UniqueFd(fd);
    }
    return dir;
}

Outcome<ConfinedFile> Roots::parent_of(std::string_view path) const {
    auto located = locate(path);
    if (!located) return located.error();
    auto& [root, components] = *located;
    if (components.empty()) return fail("path " + quoted(path) + " is an --allow-root itself, not a file in it");
    std::string name = components.back();
    components.pop_back();
    auto dir = open_below(*root, components, path);
    if (!dir) return dir.error();
    return ConfinedFile{std::move(*dir), std::move(name)};
}

Outcome<UniqueFd> Roots::directory(std::string_view path) const {
    auto located = locate(path);
    if (!located) return located.error();
    return open_below(*located->first, located->second, path);
}

}  // namespace taskd::agent
