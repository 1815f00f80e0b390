// agent/confinement and agent/atomic_file: every way out of an --allow-root fails and writes
// nothing outside it, with openat2 and with the component-by-component walk alike.
#include "agent/atomic_file.hpp"
#include "agent/confinement.hpp"

#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace taskd::agent;
namespace fs = std::filesystem;

namespace {

struct Tree {
    taskd::test::TempDir tmp;
    fs::path root = tmp.path() / "root";
    fs::path outside = tmp.path() / "outside";
    fs::path sibling = tmp.path() / "root-sibling";
    Tree() {
        fs::create_directories(root / "sub");
        fs::create_directories(outside);
        fs::create_directories(sibling);
        fs::create_directory_symlink(outside, root / "link-out");     // a symlink to a directory outside
        fs::create_directory_symlink(root / "sub", root / "link-in");  // a symlink that stays inside
        fs::create_symlink(outside / "target", root / "sub" / "file-link");
    }
    // Everything below `outside` and `sibling`: must stay empty.
    std::size_t outside_entries() const {
        std::size_t n = 0;
        for (const auto& dir : {outside, sibling})
            for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) ++n;
        return n;
    }
};

// Writes `content` to `path` through the roots, as FILE_WRITE does.
Outcome<void> write(const Roots& roots, const std::string& path, std::string_view content) {
    auto file = roots.parent_of(path);
    if (!file) return file.error();
    return replace_file(file->dir.get(), file->name, content, 0644, path);
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_confinement)

BOOST_AUTO_TEST_CASE(no_root_refuses) { BOOST_TEST(!Roots::open({}).has_value()); }

BOOST_AUTO_TEST_CASE(a_root_must_be_an_existing_absolute_directory) {
    Tree t;
    BOOST_TEST(!Roots::open({"relative/dir"}).has_value());
    BOOST_TEST(!Roots::open({(t.root / "missing").string()}).has_value());
    std::ofstream(t.root / "plain");
    BOOST_TEST(!Roots::open({(t.root / "plain").string()}).has_value());
}

BOOST_AUTO_TEST_CASE(paths_inside_are_written) {
    for (bool openat2 : {true, false}) {
        Tree t;
        auto roots = Roots::open({t.root.string()});
        BOOST_TEST_REQUIRE(roots.has_value());
        roots->set_use_openat2(openat2);
        BOOST_TEST(write(*roots, (t.root / "a.txt").string(), "one").has_value());
        BOOST_TEST(write(*roots, (t.root / "sub" / "b.txt").string(), "two").has_value());
        BOOST_TEST(write(*roots, t.root.string() + "//sub///c.txt", "three").has_value());
        BOOST_TEST(slurp(t.root / "a.txt") == "one");
        BOOST_TEST(slurp(t.root / "sub" / "b.txt") == "two");
        BOOST_TEST(slurp(t.root / "sub" / "c.txt") == "three");
        BOOST_TEST(roots->directory(t.root.string()).has_value());
        BOOST_TEST(roots->directory((t.root / "sub").string()).has_value());
    }
}

BOOST_AUTO_TEST_CASE(every_escape_fails_and_writes_nothing_outside) {
    for (bool openat2 : {true, false}) {
        Tree t;
        auto roots = Roots::open({t.root.string()});
        BOOST_TEST_REQUIRE(roots.has_value());
        roots->set_use_openat2(openat2);
        const std::string r = t.root.string();
        const std::vector<std::string> escapes = {
            r + "/../outside/x",                                   // ..
            r + "/sub/../../outside/x",                            // .. deeper
            r + "/./x",                                            // . is refused too
            "relative/x",                                          // relative
            "x",                                                   // relative, bare
            "",                                                    // empty
            (t.sibling / "x").string(),                            // a sibling whose name extends the root's
            (t.outside / "x").string(),                            // plainly outside
            "/etc/taskd-agent-test",                               // elsewhere
            r + "/link-out/x",                                     // a symlink to a directory outside
            r + "/link-out/deeper/x",                              // under it
            r + "/link-in/x",                                      // a symlink, even one that stays inside
            r + "/sub/file-link",                                  // the file itself a symlink outside
            r,                                                     // the root itself is not a file
            r + "/missing-dir/x",                                  // a parent that does not exist
            r + std::string("/a\0b", 4),                           // NUL
        };
        for (const auto& path : escapes) {
            BOOST_TEST_CONTEXT("path [" << path << "] openat2 " << openat2) {
                auto w = write(*roots, path, "escaped");
                BOOST_TEST(!w.has_value());
                if (!w) BOOST_TEST(!w.error().message.empty());
            }
        }
        BOOST_TEST(t.outside_entries() == 0u);
        BOOST_TEST(!fs::exists(t.outside / "target"));
        BOOST_TEST(!roots->directory(r + "/link-out").has_value());
        BOOST_TEST(!roots->directory(t.outside.string()).has_value());
    }
}

BOOST_AUTO_TEST_CASE(a_symlinked_parent_fails) {
    Tree t;
    // The root holds a directory whose parent is a symlink to outside: root/p -> outside, and
    // outside/d exists, so root/p/d/x would land in outside/d.
    fs::create_directory(t.outside / "d");
    fs::create_directory_symlink(t.outside, t.root / "p");
    auto roots = Roots::open({t.root.string()});
    BOOST_TEST_REQUIRE(roots.has_value());
    for (bool openat2 : {true, false}) {
        roots->set_use_openat2(openat2);
        BOOST_TEST(!write(*roots, (t.root / "p" / "d" / "x").string(), "escaped").has_value());
    }
    BOOST_TEST(fs::is_empty(t.outside / "d"));
}

BOOST_AUTO_TEST_CASE(a_symlink_swapped_in_before_use_fails) {
    for (bool openat2 : {true, false}) {
        Tree t;
        auto roots = Roots::open({t.root.string()});
        BOOST_TEST_REQUIRE(roots.has_value());
        roots->set_use_openat2(openat2);
        // The path is checked while root/sub is a real directory; before a component is opened
        // it becomes a symlink to outside (the hook stands for a concurrent attacker).
        roots->set_pause_hook([&](std::string_view) {
            fs::rename(t.root / "sub", t.root / "sub.moved");
            fs::create_directory_symlink(t.outside, t.root / "sub");
        });
        BOOST_TEST(!write(*roots, (t.root / "sub" / "x").string(), "escaped").has_value());
        BOOST_TEST(t.outside_entries() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(a_root_configured_through_a_symlink_accepts_both_spellings) {
    Tree t;
    fs::create_directory_symlink(t.root, t.tmp.path() / "alias");
    auto roots = Roots::open({(t.tmp.path() / "alias").string()});
    BOOST_TEST_REQUIRE(roots.has_value());
    BOOST_TEST(write(*roots, (t.tmp.path() / "alias" / "a").string(), "1").has_value());
    BOOST_TEST(write(*roots, (t.root / "b").string(), "2").has_value());
    BOOST_TEST(slurp(t.root / "a") == "1");
    BOOST_TEST(slurp(t.root / "b") == "2");
}

BOOST_AUTO_TEST_CASE(replace_is_atomic_and_sets_the_mode) {
    Tree t;
    auto roots = Roots::open({t.root.string()});
    BOOST_TEST_REQUIRE(roots.has_value());
    const auto path = (t.root / "f").string();
    auto file = roots->parent_of(path);
    BOOST_TEST_REQUIRE(file.has_value());
    BOOST_TEST(replace_file(file->dir.get(), file->name, "old", 0600, path).has_value());
    BOOST_TEST(replace_file(file->dir.get(), file->name, "new", 0640, path).has_value());
    BOOST_TEST(slurp(path) == "new");
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0640u);
    // A directory in the way: the write fails, the directory and the rest stay, no temp file left.
    fs::create_directory(t.root / "d");
    BOOST_TEST(!replace_file(file->dir.get(), "d", "x", 0644, path).has_value());
    std::size_t entries = 0;
    for (auto& e : fs::directory_iterator(t.root)) entries += e.path().filename().string().starts_with(".") ? 100 : 1;
    BOOST_TEST(entries < 100u);
}

BOOST_AUTO_TEST_CASE(a_replaced_file_keeps_its_owner) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot give a file to another user, skipped");
        return;
    }
    Tree t;
    auto roots = Roots::open({t.root.string()});
    BOOST_TEST_REQUIRE(roots.has_value());
    const auto path = (t.root / ".env").string();
    std::ofstream(path) << "A=1\n";
    BOOST_TEST_REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    BOOST_TEST(write(*roots, path, "A=2\n").has_value());
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST(st.st_uid == 65534u);
    BOOST_TEST(st.st_gid == 65534u);
    BOOST_TEST(slurp(path) == "A=2\n");
    // A new file is the agent's own.
    BOOST_TEST(write(*roots, (t.root / "new").string(), "n").has_value());
    BOOST_TEST_REQUIRE(::stat((t.root / "new").c_str(), &st) == 0);
    BOOST_TEST(st.st_uid == ::geteuid());
}

BOOST_AUTO_TEST_CASE(read_refuses_what_is_not_a_regular_file) {
    Tree t;
    auto roots = Roots::open({t.root.string()});
    BOOST_TEST_REQUIRE(roots.has_value());
    auto dir = roots->directory(t.root.string());
    BOOST_TEST_REQUIRE(dir.has_value());
    auto missing = read_file_at(dir->get(), "nope", "nope");
    BOOST_TEST_REQUIRE(missing.has_value());
    BOOST_TEST(!missing->has_value());
    BOOST_TEST(::mkfifo((t.root / "fifo").c_str(), 0600) == 0);
    BOOST_TEST(!read_file_at(dir->get(), "fifo", "fifo").has_value());  // does not block
    BOOST_TEST(!read_file_at(dir->get(), "link-out", "link-out").has_value());
    BOOST_TEST(!read_file_at(dir->get(), "sub", "sub").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
