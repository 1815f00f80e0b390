// Confinement: the --allow-root directories, and the only way the agent reaches a path a task
// names.
//
// Each root is opened once at start (after resolving it with realpath) and kept open. A task's
// path must be absolute, contain no `.` or `..` component, and lie lexically under a root (as
// given or as resolved); the rest of it is then opened from the root's descriptor one component
// at a time with O_NOFOLLOW (or in one openat2 call with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
// where the kernel has it). A symbolic link anywhere below the root fails the task, and so
// does one swapped in while the task runs: the kernel resolves each component against a
// descriptor we hold, never a path that could be changed between a check and its use. What
// the caller gets is a descriptor of the directory to work in, so a later rename or create
// happens in that directory whatever happens to its name meanwhile.
//
// Roots is immutable after open() and safe to share between threads.
#pragma once

#include "agent/failure.hpp"
#include "agent/unique_fd.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace taskd::agent {

// A file a task names: its directory, opened under a root, and its name in there.
struct ConfinedFile {
    UniqueFd dir;
    std::string name;
};

class Roots {
public:
    // Opens every directory; fails naming the first that is not an existing directory.
    static Outcome<Roots> open(const std::vector<std::string>& dirs);

    // The directory that holds `path` (which must name an entry below a root, not a root).
    Outcome<ConfinedFile> parent_of(std::string_view path) const;
    // `path` itself, a directory at or below a root.
    Outcome<UniqueFd> directory(std::string_view path) const;

    // Tests only: called with the path after the lexical checks and before any component is
    // opened, so that a test can swap a symlink in at the worst moment.
    void set_pause_hook(std::function<void(std::string_view path)> hook) { pause_hook_ = std::move(hook); }
    // Tests only: walk component by component even where openat2 is available.
    void set_use_openat2(bool use) { use_openat2_ = use; }

    const std::vector<std::string>& paths() const { return shown_; }

private:
    struct Root {
        std::vector<std::string> given;     // components as configured
        std::vector<std::string> resolved;  // components after realpath
        std::shared_ptr<UniqueFd> fd;
    };
    // Checks `path` and returns the root it is under and the components below it.
    Outcome<std::pair<const Root*, std::vector<std::string>>> locate(std::string_view path) const;
    Outcome<UniqueFd> open_below(const Root& root, const std::vector<std::string>& components,
                                 std::string_view path) const;

    std::vector<Root> roots_;
    std::vector<std::string> shown_;
    std::function<void(std::string_view)> pause_hook_;
    bool use_openat2_ = true;
};

}  // namespace taskd::agent
