// Fuzz target confinement (taskd-agent): a path a task names -> agent::Roots::parent_of and
// Roots::directory, over a real directory tree made once per process.
//
// The tree (under a fresh temporary directory T):
//   T/root/a/b/          directories
//   T/root/a/f           a file
//   T/root/esc -> ../outside, T/root/a/abs -> T/outside, T/root/a/in -> b, T/root/a/loop -> .
//   T/outside/secret     what no task may reach
//   T/rootlink -> root   the --allow-root as configured, so its given and resolved forms differ
//
// Byte 0 picks what the rest of the input is appended to: nothing, the root as configured, the
// root resolved, or "/" (so that most inputs get past the lexical checks and reach the opens).
// Asserts, with openat2 and with the component walk alike: what either accepts is the
// directory the path names lexically below the resolved root, reached without following any
// symbolic link (so its real path is the root's real path plus the path's components); the
// name handed back is one plain component; both ways agree on accepting or refusing.
#include "agent/confinement.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace taskd;

[[noreturn]] void finding(const char* what, std::string_view path) {
    std::fprintf(stderr, "confinement_fuzz: %s (path \"%.*s\")\n", what, static_cast<int>(path.size()), path.data());
    std::abort();
}

void must(bool ok, const char* what) {
    if (!ok) {
        std::perror(what);
        std::abort();
    }
}

struct Tree {
    std::string top, root_given, root_resolved;
    std::optional<agent::Roots> with_openat2, walk_only;

    Tree() {
        char tmpl[] = "/tmp/taskd-confinement-fuzz-XXXXXX";
        must(::mkdtemp(tmpl) != nullptr, "mkdtemp");
        top = tmpl;
        for (const char* d : {"/root", "/root/a", "/root/a/b", "/outside"})
            must(::mkdir((top + d).c_str(), 0700) == 0, "mkdir");
        for (const char* f : {"/root/a/f", "/outside/secret"}) {
            const int fd = ::open((top + f).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
            must(fd >= 0, "open");
            ::close(fd);
        }
        must(::symlink("../outside", (top + "/root/esc").c_str()) == 0, "symlink");
        must(::symlink((top + "/outside").c_str(), (top + "/root/a/abs").c_str()) == 0, "symlink");
        must(::symlink("b", (top + "/root/a/in").c_str()) == 0, "symlink");
        must(::symlink(".", (top + "/root/a/loop").c_str()) == 0, "symlink");
        must(::symlink("root", (top + "/rootlink").c_str()) == 0, "symlink");
        root_given = top + "/rootlink";
        char resolved[PATH_MAX];
        must(::realpath((top + "/root").c_str(), resolved) != nullptr, "realpath");
        root_resolved = resolved;

        auto a = agent::Roots::open({root_given});
        auto b = agent::Roots::open({root_given});
        if (!a || !b) {
            std::fprintf(stderr, "confinement_fuzz: Roots::open failed\n");
            std::abort();
        }
        b->set_use_openat2(false);
        with_openat2.emplace(std::move(*a));
        walk_only.emplace(std::move(*b));
    }
    ~Tree() {
        with_openat2.reset();
        walk_only.reset();
        std::error_code ec;
        std::filesystem::remove_all(top, ec);
    }
};

Tree& tree() {
    static Tree t;
    return t;
}

std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        const std::size_t j = std::min(path.find('/', i), path.size());
        if (j > i) out.emplace_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

// The components of `path` below the root (given or resolved form), or nothing if it is not
// lexically under it: what a confined open may reach, and nothing else.
std::optional<std::vector<std::string>> below_root(std::string_view path) {
    const auto parts = split(path);
    for (const std::string& root : {tree().root_resolved, tree().root_given}) {
        const auto prefix = split(root);
        if (prefix.size() <= parts.size() && std::equal(prefix.begin(), prefix.end(), parts.begin()))
            return std::vector<std::string>(parts.begin() + static_cast<std::ptrdiff_t>(prefix.size()), parts.end());
    }
    return std::nullopt;
}

std::string real_path_of(int fd) {
    char buf[PATH_MAX];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
    must(n > 0, "readlink");
    return std::string(buf, static_cast<std::size_t>(n));
}

std::string joined(const std::vector<std::string>& parts, std::size_t count) {
    std::string out = tree().root_resolved;
    for (std::size_t i = 0; i < count; ++i) out.append("/").append(parts[i]);
    return out;
}

// Checks one Roots' answers for `path`; returns whether parent_of and directory accepted it.
std::pair<bool, bool> check(const agent::Roots& roots, std::string_view path) {
    const auto parent = roots.parent_of(path);
    const auto dir = roots.directory(path);
    if (!parent && !dir) return {false, false};
    const auto rest = below_root(path);
    if (!rest) finding("accepted a path that is not lexically below the root", path);
    for (const auto& c : *rest)
        if (c == "." || c == "..") finding("accepted a path with a . or .. component", path);
    if (parent) {
        if (rest->empty()) finding("parent_of accepted the root itself", path);
        const std::string& name = parent->name;
        if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
            name.find('\0') != std::string::npos)
            finding("parent_of handed back a name that is not one plain component", path);
        if (name != rest->back()) finding("parent_of handed back another name than the path's last", path);
        if (real_path_of(parent->dir.get()) != joined(*rest, rest->size() - 1))
            finding("parent_of opened a directory other than the one the path names", path);
    }
    if (dir && real_path_of(dir->get()) != joined(*rest, rest->size()))
        finding("directory opened a directory other than the one the path names", path);
    return {static_cast<bool>(parent), static_cast<bool>(dir)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string path;
    switch (data[0] % 4) {
        case 0: break;
        case 1: path = tree().root_given; break;
        case 2: path = tree().root_resolved; break;
        case 3: path = "/"; break;
    }
    path.append(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto a = check(*tree().with_openat2, path);
    const auto b = check(*tree().walk_only, path);
    if (a != b) finding("openat2 and the component walk disagree", path);
    return 0;
}
