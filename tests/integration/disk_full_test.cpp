// A full disk: the journal's write fails, and taskd fails closed. Writes are answered 503, reads
// are still served, /readyz says why, and a restart (once there is room) recovers every change
// that was answered.
//
// The small filesystem is a size-limited tmpfs mounted by the test; where mounting is not
// allowed (no CAP_SYS_ADMIN) the test says so and skips.
#include "fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstring>
#include <sys/mount.h>

using namespace taskd::test;

namespace {

// A tmpfs of `size` mounted on `dir` for the life of the object.
class SmallFilesystem {
public:
    SmallFilesystem(const std::filesystem::path& dir, const std::string& size) : dir_(dir) {
        std::filesystem::create_directories(dir);
        mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size + ",mode=0700").c_str()) == 0;
        if (!mounted_) error_ = std::strerror(errno);
    }
    ~SmallFilesystem() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }
    bool grow(const std::string& size) {
        return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size + ",mode=0700").c_str()) == 0;
    }

private:
    std::filesystem::path dir_;
    bool mounted_ = false;
    std::string error_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(disk_full, *boost::unit_test::label("embedded"))  // the journal's: not run on PostgreSQL

BOOST_AUTO_TEST_CASE(writes_get_503_reads_still_served_restart_recovers_every_answered_change) {
    TempDir dir;
    SmallFilesystem fs(dir.path() / "small", "256k");
    if (!fs.mounted()) {
        BOOST_TEST_MESSAGE("SKIPPED disk_full: cannot mount a tmpfs here (" << fs.error()
                                                                          << "); needs root or CAP_SYS_ADMIN");
        return;
    }
    const auto data = dir.path() / "small" / "data";
    ServerProcess server;
    server.start(data, {"--snapshot-every-records", "1000000"});
    HttpClient admin(server.port());
    admin.set_token(server.admin_token());
    const std::string tenant = new_uuid();
    const std::string payload(8000, 'x');

    std::vector<std::string> answered;
    unsigned last_status = 0;
    for (int i = 0; i < 1000; ++i) {
        auto r = admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"fill","payload":{"blob":")" +
                                          payload + R"("}})");
        last_status = r.status;
        if (r.status != 201) break;
        answered.push_back(std::string(r.json().at("id").as_string()));
    }
    BOOST_TEST_REQUIRE(last_status == 503u, "the disk never filled up");
    BOOST_TEST(answered.size() > 5u);
    // The log is read through a pipe by another thread: wait for the line, do not race it.
    BOOST_TEST(server.wait_for_log("journal: "));

    // Sticky: every later change is refused, reads go on, /readyz says why.
    auto again = admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"small"})");
    BOOST_TEST(again.status == 503u);
    BOOST_TEST(again.body.find("journal") != std::string::npos, again.body);
    BOOST_TEST(admin.post("/agents", R"({"name":"late"})").status == 503u);
    BOOST_TEST(admin.get("/tasks/" + answered.front()).status == 200u);
    BOOST_TEST(admin.get("/tasks?limit=5").status == 200u);
    BOOST_TEST(admin.get("/healthz").status == 200u);
    auto ready = admin.get("/readyz");
    BOOST_TEST(ready.status == 503u);
    BOOST_TEST(ready.body.find("journal") != std::string::npos, ready.body);

    BOOST_TEST(server.stop() == 0);
    BOOST_TEST_REQUIRE(fs.grow("4m"));
    server.start(data);
    HttpClient after(server.port());
    after.set_token(server.admin_token());
    for (const auto& id : answered) BOOST_TEST(after.get("/tasks/" + id).status == 200u, id);
    BOOST_TEST(after.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"small"})").status == 201u);
    BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
