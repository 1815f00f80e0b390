// auth/admin_token: --admin-token-file, then TASKD_ADMIN_TOKEN, then <data-dir>/admin.token.
#include "auth/admin_token.hpp"

#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>

namespace {

namespace fs = std::filesystem;
using taskd::auth::load_admin_token;

const std::string kGood = "0123456789abcdef-long-enough";

// A token file as an operator makes one: readable by its owner alone.
void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(admin_token)

BOOST_AUTO_TEST_CASE(from_a_file_trimmed) {
    const taskd::test::TempDir dir;
    const auto file = dir.path() / "token";
    write(file, "  \t" + kGood + "\r\n\n");
    const auto t = load_admin_token(file.string(), "env-token-that-is-long", dir.path() / "data");
    BOOST_TEST_REQUIRE(t.has_value());
    BOOST_TEST(t->token == kGood);                                     // the file wins over the environment
    BOOST_TEST(t->origin.find(file.string()) != std::string::npos);
    BOOST_TEST(!fs::exists(dir.path() / "data" / "admin.token"));      // nothing generated
}

BOOST_AUTO_TEST_CASE(from_the_environment_trimmed) {
    const taskd::test::TempDir dir;
    write(dir.path() / "admin.token", "a-token-in-the-data-dir\n");
    const auto t = load_admin_token("", " " + kGood + "\n", dir.path());
    BOOST_TEST_REQUIRE(t.has_value());
    BOOST_TEST(t->token == kGood);  // the environment wins over the data dir
    BOOST_TEST(t->origin.find("TASKD_ADMIN_TOKEN") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(generated_with_mode_0600_and_reused) {
    const taskd::test::TempDir dir;
    const auto path = dir.path() / "admin.token";
    const auto first = load_admin_token("", "", dir.path());
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(first->token.size() == 43u);
    BOOST_TEST(first->origin.find("generated") != std::string::npos);
    BOOST_TEST_REQUIRE(fs::exists(path));
    BOOST_TEST(read(path) == first->token + "\n");
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07777) == 0600u);
    BOOST_TEST(!fs::exists(dir.path() / "admin.token.tmp"));

    const auto second = load_admin_token("", "", dir.path());
    BOOST_TEST_REQUIRE(second.has_value());
    BOOST_TEST(second->token == first->token);
    BOOST_TEST(second->origin.find("generated") == std::string::npos);

    const taskd::test::TempDir other;
    const auto third = load_admin_token("", "", other.path());
    BOOST_TEST_REQUIRE(third.has_value());
    BOOST_TEST(third->token != first->token);
}

BOOST_AUTO_TEST_CASE(short_tokens_are_refused_with_a_message) {
    const taskd::test::TempDir dir;
    const std::string fifteen(15, 'x');
    const std::string sixteen(16, 'x');

    write(dir.path() / "short", "  " + fifteen + "  \n");  // long enough only before trimming
    const auto from_file = load_admin_token((dir.path() / "short").string(), "", dir.path());
    BOOST_TEST_REQUIRE(from_file.has_error());
    BOOST_TEST(from_file.error().message.find("shorter than 16") != std::string::npos);
    BOOST_TEST(from_file.error().message.find('\n') == std::string::npos);

    const auto from_env = load_admin_token("", "  " + fifteen + "  ", dir.path());
    BOOST_TEST_REQUIRE(from_env.has_error());
    BOOST_TEST(from_env.error().message.find("TASKD_ADMIN_TOKEN") != std::string::npos);

    write(dir.path() / "admin.token", fifteen);
    const auto from_data_dir = load_admin_token("", "", dir.path());
    BOOST_TEST_REQUIRE(from_data_dir.has_error());
    BOOST_TEST(!from_data_dir.error().message.empty());
    BOOST_TEST(read(dir.path() / "admin.token") == fifteen);  // never overwritten

    write(dir.path() / "exact", sixteen);
    const auto exact = load_admin_token((dir.path() / "exact").string(), "", dir.path());
    BOOST_TEST_REQUIRE(exact.has_value());
    BOOST_TEST(exact->token == sixteen);
    BOOST_TEST(load_admin_token("", sixteen, dir.path()).has_value());
}

BOOST_AUTO_TEST_CASE(unreadable_sources_are_refused) {
    const taskd::test::TempDir dir;
    const auto missing = load_admin_token((dir.path() / "no-such-file").string(), "", dir.path());
    BOOST_TEST_REQUIRE(missing.has_error());
    BOOST_TEST(missing.error().message.find("no-such-file") != std::string::npos);

    const auto no_dir = load_admin_token("", "", dir.path() / "not-created");
    BOOST_TEST_REQUIRE(no_dir.has_error());
    BOOST_TEST(no_dir.error().message.find("admin.token") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_token_file_open_to_group_or_others_is_refused) {
    const taskd::test::TempDir dir;
    const auto file = dir.path() / "token";
    write(file, kGood);
    for (const auto extra : {fs::perms::group_read, fs::perms::others_read, fs::perms::group_write,
                             fs::perms::others_write}) {
        fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | extra);
        const auto t = load_admin_token(file.string(), "", dir.path() / "data");
        BOOST_TEST_REQUIRE(!t.has_value());
        BOOST_TEST(t.error().message.find("chmod 600 " + file.string()) != std::string::npos, t.error().message);
    }
    fs::permissions(file, fs::perms::owner_read);  // 0400 is private too
    BOOST_TEST(load_admin_token(file.string(), "", dir.path() / "data").has_value());
    // The data directory's own admin.token likewise.
    fs::create_directories(dir.path() / "data");
    write(dir.path() / "data" / "admin.token", kGood);
    fs::permissions(dir.path() / "data" / "admin.token", fs::perms::owner_read | fs::perms::owner_write |
                                                             fs::perms::group_read | fs::perms::others_read);
    const auto t = load_admin_token("", "", dir.path() / "data");
    BOOST_TEST_REQUIRE(!t.has_value());
    BOOST_TEST(t.error().message.find("mode 0644") != std::string::npos, t.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
