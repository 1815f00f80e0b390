// The taskd process as an operator sees it: signals and shutdown, health endpoints, where the
// admin token comes from, --insecure-no-admin-auth, flags, TASKD_* and --config, IPv6.
//
// Tests that expect a refusal run taskd to its exit. Should the refusal be missing, taskd would
// serve until run_to_exit's bound kills it; so they give it a port the test holds (HeldPort): a
// taskd that wrongly accepts stops at once when it cannot listen, exit status 1, and the test fails.
#include "fixture.hpp"
#include "raw_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

using namespace taskd::test;

namespace {
namespace net = boost::asio;
using net::ip::tcp;

const std::string kHealthz = raw_request("GET", "/healthz");

// A loopback port the test listens on, so that taskd cannot.
class HeldPort {
public:
    HeldPort() : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {}
    std::string on(const std::string& host) const {
        return host + ":" + std::to_string(acceptor_.local_endpoint().port());
    }

private:
    net::io_context ioc_;
    tcp::acceptor acceptor_;
};

// A valid POST /tasks body of exactly `size` bytes, padded inside its payload.
std::string task_body_of_size(std::size_t size) {
    const std::string head = R"({"tenant_id":")" + new_uuid() + R"(","type":"noop","payload":{"pad":")";
    const std::string tail = R"("}})";
    if (size < head.size() + tail.size()) throw std::logic_error("task body too small");
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

// Written private (0600), as taskd requires of a token file.
void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

bool one_line(const std::string& output) {
    return !output.empty() && output.back() == '\n' && std::count(output.begin(), output.end(), '\n') == 1;
}

// Every flag taskd documents.
const std::vector<std::string> kFlags{
    "listen",           "data-dir",         "admin-token-file", "insecure-no-admin-auth", "threads",
    "shutdown-timeout", "max-body-bytes",   "max-header-bytes", "max-json-depth",         "max-connections",
    "header-timeout",   "body-timeout",     "idle-timeout",     "write-timeout",          "lease-seconds",
    "log-level",        "config",           "version"};

}  // namespace

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(sigterm_with_idle_keep_alive_connections_exits_0) {
    ServerFixture f;  // default --shutdown-timeout (10 s): idle connections must not wait for it
    RawConnection a(f.server.port()), b(f.server.port());
    a.send(kHealthz);
    b.send(kHealthz);
    BOOST_TEST_REQUIRE(a.read_status() == 200u);
    BOOST_TEST_REQUIRE(b.read_status() == 200u);
    BOOST_TEST(f.server.stop() == 0);
    const std::string log = f.server.log();
    BOOST_TEST(log.find("stopping") != std::string::npos, log);
    BOOST_TEST(log.find("shutdown timeout") == std::string::npos, log);  // prompt: not by the deadline
    BOOST_TEST(a.closed_by_server());
}

BOOST_AUTO_TEST_CASE(sigint_with_idle_keep_alive_connection_exits_0) {
    ServerFixture f;
    RawConnection a(f.server.port());
    a.send(kHealthz);
    BOOST_TEST_REQUIRE(a.read_status() == 200u);
    BOOST_TEST(f.server.stop(SIGINT) == 0, f.server.log());
    const std::string log = f.server.log();
    BOOST_TEST(log.find("stopping") != std::string::npos, log);
    BOOST_TEST(log.find("shutdown timeout") == std::string::npos, log);
}

// SIGTERM while a request's body is being read: the request is finished, then the exit.
BOOST_AUTO_TEST_CASE(sigterm_waits_for_the_request_being_read) {
    ServerFixture f({"--shutdown-timeout", "30s"});
    const std::string body = task_body_of_size(200);
    RawConnection c(f.server.port());
    c.send(raw_request("POST", "/tasks", f.server.admin_token(), {},
                       "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n"));
    BOOST_TEST_REQUIRE(c.read_status() == 100u);  // the header is in: the server reads the body now
    c.send(body.substr(0, 10));

    auto exit_status = std::async(std::launch::async, [&] { return f.server.stop(); });
    BOOST_TEST_REQUIRE(f.server.wait_for_log("stopping"));
    c.send(body.substr(10));
    BOOST_TEST(c.read_status() == 201u);
    BOOST_TEST(c.closed_by_server());
    BOOST_TEST(exit_status.get() == 0);
    BOOST_TEST(f.server.log().find("shutdown timeout") == std::string::npos, f.server.log());
}

// The same, but the body never completes: --shutdown-timeout ends the wait.
BOOST_AUTO_TEST_CASE(sigterm_with_an_unfinished_request_exits_0_at_the_deadline) {
    ServerFixture f({"--shutdown-timeout", "1s"});
    RawConnection c(f.server.port());
    c.send(raw_request("POST", "/tasks", f.server.admin_token(), {},
                       "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100\r\n"));
    BOOST_TEST_REQUIRE(c.read_status() == 100u);
    c.send(R"({"tenant_)");
    BOOST_TEST(f.server.stop() == 0);
    BOOST_TEST(f.server.log().find("shutdown timeout") != std::string::npos, f.server.log());
}

BOOST_AUTO_TEST_CASE(healthz_and_readyz) {
    ServerFixture f;
    HttpClient anonymous = f.client();
    auto health = anonymous.get("/healthz");
    BOOST_TEST(health.status == 200u);
    BOOST_TEST(health.json() == boost::json::parse(R"({"status":"ok"})"));
    BOOST_TEST(anonymous.get("/readyz").status == 200u);
}

BOOST_AUTO_TEST_CASE(admin_token_generated_0600_and_reused_on_restart) {
    TempDir dir;
    const auto data = dir.path() / "data";
    std::string token;
    {
        ServerProcess first;
        first.start(data);
        const auto file = data / "admin.token";
        BOOST_TEST_REQUIRE(std::filesystem::exists(file));
        const auto perms = std::filesystem::status(file).permissions() & std::filesystem::perms::all;
        BOOST_TEST((perms == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)));
        token = first.admin_token();
        BOOST_TEST(token.size() >= 16u);
        HttpClient admin(first.port());
        admin.set_token(token);
        BOOST_TEST(admin.get("/tasks").status == 200u);
        BOOST_TEST(first.log().find("generated") != std::string::npos, first.log());
        BOOST_TEST(first.stop() == 0);
    }
    ServerProcess second;
    second.start(data);
    BOOST_TEST(second.admin_token() == token);
    HttpClient admin(second.port());
    admin.set_token(token);
    BOOST_TEST(admin.get("/tasks").status == 200u);
    admin.set_token(std::string(43, 'A'));
    BOOST_TEST(admin.get("/tasks").status == 401u);
    BOOST_TEST(second.log().find("generated") == std::string::npos, second.log());
}

BOOST_AUTO_TEST_CASE(admin_token_file_flag_is_used) {
    TempDir dir;
    const auto token_file = dir.path() / "token";
    const std::string token = "file-token-0123456789abcdefghijklmnop";
    write_file(token_file, token + "\n");
    ServerProcess server;
    server.start(dir.path() / "data", {"--admin-token-file", token_file.string()});
    HttpClient admin(server.port());
    admin.set_token(token);
    BOOST_TEST(admin.get("/tasks").status == 200u);
    admin.set_token(token + "x");
    BOOST_TEST(admin.get("/tasks").status == 401u);
    BOOST_TEST(!std::filesystem::exists(dir.path() / "data" / "admin.token"));
}

BOOST_AUTO_TEST_CASE(admin_token_from_environment) {
    const std::string token = "env-token-0123456789abcdefghijklmnop";
    ServerFixture f({}, {"TASKD_ADMIN_TOKEN=" + token});
    HttpClient admin = f.client_with_token(token);
    BOOST_TEST(admin.get("/tasks").status == 200u);
    BOOST_TEST(!std::filesystem::exists(f.dir.path() / "data" / "admin.token"));
}

BOOST_AUTO_TEST_CASE(short_admin_token_exits_2) {
    TempDir dir;
    HeldPort held;
    const auto token_file = dir.path() / "token";
    write_file(token_file, "short\n");
    const std::vector<std::string> args{"--listen", held.on("127.0.0.1"), "--data-dir", (dir.path() / "data").string()};
    std::string output;
    auto with_file = args;
    with_file.insert(with_file.end(), {"--admin-token-file", token_file.string()});
    BOOST_TEST(ServerProcess::run_to_exit(with_file, &output) == 2);
    BOOST_TEST(one_line(output), output);
    BOOST_TEST(output.find("shorter") != std::string::npos, output);

    BOOST_TEST(ServerProcess::run_to_exit(args, &output, {"TASKD_ADMIN_TOKEN=short"}) == 2);
    BOOST_TEST(one_line(output), output);
    BOOST_TEST(output.find("TASKD_ADMIN_TOKEN") != std::string::npos, output);
}

BOOST_AUTO_TEST_CASE(insecure_no_admin_auth_on_loopback) {
    ServerFixture f({"--insecure-no-admin-auth"});
    HttpClient anonymous = f.client();
    auto created = anonymous.post("/tasks", R"({"tenant_id":")" + new_uuid() + R"(","type":"noop"})");
    BOOST_TEST(created.status == 201u, created.body);
    BOOST_TEST(anonymous.get("/tasks").status == 200u);
    auto registered = anonymous.post("/agents", R"({"name":"edge","tenant_id":null})");
    BOOST_TEST_REQUIRE(registered.status == 201u, registered.body);
    const auto agent = registered.json();
    HttpClient edge = f.client_with_token(std::string(agent.at("token").as_string()));
    BOOST_TEST(edge.get("/tasks").status == 403u);  // an agent token still acts as the agent
    auto claimed = edge.get("/tasks/next?agent_id=" + std::string(agent.at("id").as_string()));
    BOOST_TEST(claimed.status == 200u, claimed.body);
}

BOOST_AUTO_TEST_CASE(insecure_no_admin_auth_refused_off_loopback) {
    TempDir dir;
    HeldPort held;
    std::string output;
    const int status = ServerProcess::run_to_exit(
        {"--listen", held.on("0.0.0.0"), "--data-dir", (dir.path() / "data").string(), "--insecure-no-admin-auth"},
        &output);
    BOOST_TEST(status == 2);
    BOOST_TEST(one_line(output), output);
    BOOST_TEST(output.find("loopback") != std::string::npos, output);
}

BOOST_AUTO_TEST_CASE(help_lists_every_flag) {
    std::string output;
    BOOST_TEST(ServerProcess::run_to_exit({"--help"}, &output) == 0);
    for (const auto& flag : kFlags) BOOST_TEST(output.find("--" + flag) != std::string::npos, "--" << flag);
}

BOOST_AUTO_TEST_CASE(version) {
    std::string output;
    BOOST_TEST(ServerProcess::run_to_exit({"--version"}, &output) == 0);
    BOOST_TEST(output.starts_with("taskd "), output);
}

BOOST_AUTO_TEST_CASE(bad_values_exit_2_with_one_line) {
    TempDir dir;
    HeldPort held;
    const auto config = dir.path() / "taskd.conf";
    write_file(config, "no-such-option = 1\n");
    struct Case {
        std::vector<std::string> args;
        std::vector<std::string> env;
        std::string named;  // the output must name what was wrong
    };
    const std::vector<Case> cases{
        {{"--threads", "abc"}, {}, "threads"},
        {{"--max-body-bytes", "-1"}, {}, "max-body-bytes"},
        {{"--idle-timeout", "10x"}, {}, "idle-timeout"},
        {{"--log-level", "loud"}, {}, "log-level"},
        {{"--no-such-flag"}, {}, "no-such-flag"},
        {{}, {"TASKD_MAX_BODY_BYTES=abc"}, "max-body-bytes"},
        {{"--config", config.string()}, {}, "no-such-option"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.named) {
            std::vector<std::string> args{"--listen", held.on("127.0.0.1"), "--data-dir", (dir.path() / "data").string()};
            args.insert(args.end(), c.args.begin(), c.args.end());
            std::string output;
            BOOST_TEST(ServerProcess::run_to_exit(args, &output, c.env) == 2);
            BOOST_TEST(one_line(output), output);
            BOOST_TEST(output.find(c.named) != std::string::npos, output);
        }
    }
    // An address that is no address: taskd starts and refuses before it listens.
    std::string output;
    BOOST_TEST(ServerProcess::run_to_exit({"--listen", "nonsense", "--data-dir", (dir.path() / "data").string()},
                                          &output) == 2);
    BOOST_TEST(one_line(output), output);
    BOOST_TEST(output.find("nonsense") != std::string::npos, output);
}

BOOST_AUTO_TEST_CASE(max_body_bytes_from_environment) {
    ServerFixture f({}, {"TASKD_MAX_BODY_BYTES=1000"});
    BOOST_TEST(f.admin.post("/tasks", task_body_of_size(1000)).status == 201u);
    BOOST_TEST(f.admin.post("/tasks", task_body_of_size(1001)).status == 413u);
}

BOOST_AUTO_TEST_CASE(max_body_bytes_from_config_file) {
    TempDir dir;
    const auto config = dir.path() / "taskd.conf";
    write_file(config, "max-body-bytes = 1000\n");
    ServerFixture f({"--config", config.string()});
    BOOST_TEST(f.admin.post("/tasks", task_body_of_size(1000)).status == 201u);
    BOOST_TEST(f.admin.post("/tasks", task_body_of_size(1001)).status == 413u);
}

BOOST_AUTO_TEST_CASE(flag_wins_over_environment_wins_over_config) {
    {
        ServerFixture f({"--max-body-bytes", "2000"}, {"TASKD_MAX_BODY_BYTES=1000"});
        BOOST_TEST(f.admin.post("/tasks", task_body_of_size(1001)).status == 201u);
        BOOST_TEST(f.admin.post("/tasks", task_body_of_size(2001)).status == 413u);
    }
    TempDir dir;
    const auto config = dir.path() / "taskd.conf";
    write_file(config, "max-body-bytes = 1000\n");
    ServerFixture f({"--config", config.string()}, {"TASKD_MAX_BODY_BYTES=2000"});
    BOOST_TEST(f.admin.post("/tasks", task_body_of_size(1001)).status == 201u);
    BOOST_TEST(f.admin.post("/tasks", task_body_of_size(2001)).status == 413u);
}

BOOST_AUTO_TEST_CASE(listen_on_ipv6_loopback) {
    {
        net::io_context ioc;
        tcp::acceptor probe(ioc);
        boost::system::error_code ec;
        probe.open(tcp::v6(), ec);
        if (!ec) probe.bind(tcp::endpoint(net::ip::address_v6::loopback(), 0), ec);
        if (ec) {
            BOOST_TEST_MESSAGE("skipped: cannot bind [::1] here: " << ec.message());
            return;
        }
    }
    TempDir dir;
    ServerProcess server;
    // Loopback in IPv6 too: --insecure-no-admin-auth is accepted there.
    server.start(dir.path() / "data", {"--listen", "[::1]:0", "--insecure-no-admin-auth"});
    BOOST_TEST_REQUIRE(server.wait_for_log("listening on http://[::1]:"), server.log());
    BOOST_TEST_REQUIRE(server.host() == "::1", server.log());
    BOOST_TEST_REQUIRE(server.port() != 0, server.log());
    HttpClient client(server.port(), "::1");
    BOOST_TEST(client.get("/healthz").status == 200u);
    BOOST_TEST(client.get("/tasks").status == 200u);
    client.close();
    BOOST_TEST(server.stop() == 0, server.log());
}

BOOST_AUTO_TEST_SUITE_END()
