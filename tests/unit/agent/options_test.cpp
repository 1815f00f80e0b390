// agent/options: flags, TASKD_AGENT_* environment and --config FILE -> Config, in-process.
#include "agent/options.hpp"

#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace taskd::agent;

namespace {

// Sets environment variables for one test and removes them after.
struct Env {
    std::vector<std::string> names;
    void set(const std::string& name, const std::string& value) {
        ::setenv(name.c_str(), value.c_str(), 1);
        names.push_back(name);
    }
    ~Env() {
        for (const auto& n : names) ::unsetenv(n.c_str());
    }
};

struct Files {
    taskd::test::TempDir tmp;
    std::string token = (tmp.path() / "token").string();
    std::string root = tmp.path().string();
    Files() { std::ofstream(token) << "  tok-123  \n"; }

    std::vector<std::string> base() const {
        return {"--server", "http://127.0.0.1:8000", "--agent-id", "2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44",
                "--token-file", token, "--allow-root", root};
    }
};

ParsedOptions parse(std::vector<std::string> args) {
    args.insert(args.begin(), "taskd-agent");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_options)

BOOST_FIXTURE_TEST_CASE(defaults_and_required_values, Files) {
    const auto p = parse(base());
    BOOST_TEST_REQUIRE(p.run, p.output);
    BOOST_TEST(p.config.host == "127.0.0.1");
    BOOST_TEST(p.config.port == 8000);
    BOOST_TEST(p.config.base_path == "");
    BOOST_TEST(p.config.token == "tok-123");  // trimmed
    BOOST_TEST(p.config.concurrency == 1u);
    BOOST_TEST(p.config.poll_wait.count() == 30'000);
    BOOST_TEST(p.config.executor.step_timeout.count() == 300'000);
    BOOST_TEST((p.config.executor.compose_command == std::vector<std::string>{"docker", "compose"}));
    BOOST_TEST((p.config.allow_roots == std::vector<std::string>{root}));
}

BOOST_FIXTURE_TEST_CASE(values_are_read, Files) {
    auto args = base();
    for (const char* a : {"--concurrency", "8", "--step-timeout", "90s", "--shutdown-timeout", "2m", "--poll-wait",
                          "0", "--compose-command", "podman-compose", "--allow-root", "/srv", "--server",
                          "http://[::1]:9000/taskd/"})
        args.emplace_back(a);
    args.erase(args.begin(), args.begin() + 2);  // the second --server replaces the first
    const auto p = parse(args);
    BOOST_TEST_REQUIRE(p.run, p.output);
    BOOST_TEST(p.config.concurrency == 8u);
    BOOST_TEST(p.config.executor.step_timeout.count() == 90'000);
    BOOST_TEST(p.config.shutdown_timeout.count() == 120'000);
    BOOST_TEST(p.config.poll_wait.count() == 0);
    BOOST_TEST((p.config.executor.compose_command == std::vector<std::string>{"podman-compose"}));
    BOOST_TEST((p.config.allow_roots == std::vector<std::string>{root, "/srv"}));
    BOOST_TEST(p.config.host == "::1");
    BOOST_TEST(p.config.port == 9000);
    BOOST_TEST(p.config.base_path == "/taskd");
}

BOOST_FIXTURE_TEST_CASE(an_https_server_and_its_ca, Files) {
    auto args = base();
    args[1] = "https://taskd.internal/q";
    auto p = parse(args);
    BOOST_TEST_REQUIRE(p.run, p.output);
    BOOST_TEST(p.config.tls);
    BOOST_TEST(p.config.host == "taskd.internal");
    BOOST_TEST(p.config.port == 443);
    BOOST_TEST(p.config.base_path == "/q");
    BOOST_TEST(p.config.tls_ca_file == "");  // the system's store
    args.insert(args.end(), {"--tls-ca", "/etc/taskd-agent/ca.pem"});
    p = parse(args);
    BOOST_TEST_REQUIRE(p.run, p.output);
    BOOST_TEST(p.config.tls_ca_file == "/etc/taskd-agent/ca.pem");
    BOOST_TEST(!parse(base()).config.tls);
}

BOOST_FIXTURE_TEST_CASE(bad_values_are_one_line_and_exit_2, Files) {
    const std::vector<std::vector<std::string>> extras = {
        {"--concurrency", "0"}, {"--concurrency", "257"}, {"--concurrency", "x"}, {"--step-timeout", "5 minutes"},
        {"--poll-wait", "61s"}, {"--poll-wait", "1500ms"}, {"--server", "ftp://x"}, {"--server", "x:80"},
        {"--server", "http://x:0"}, {"--agent-id", "x"}, {"--allow-root", "rel"}, {"--log-level", "loud"},
        {"--token-file", "/nonexistent/token"}, {"--compose-command", " "}, {"--what"}, {"stray"},
        {"--tls-ca", "/etc/ssl/ca.pem"} /* with an http:// server */};
    for (const auto& extra : extras) {
        auto args = base();
        args.insert(args.end(), extra.begin(), extra.end());
        BOOST_TEST_CONTEXT(extra.front() << " " << extra.back()) {
            const auto p = parse(args);
            BOOST_TEST(!p.run);
            BOOST_TEST(p.exit_code == 2);
            BOOST_TEST(std::count(p.output.begin(), p.output.end(), '\n') == 1);
            BOOST_TEST(p.output.starts_with("taskd-agent: "));
        }
    }
    BOOST_TEST(parse({"--server", "http://x"}).exit_code == 2);  // nothing else given
}

BOOST_FIXTURE_TEST_CASE(no_allow_root_refuses, Files) {
    auto args = base();
    args.resize(args.size() - 2);
    const auto p = parse(args);
    BOOST_TEST(!p.run);
    BOOST_TEST(p.exit_code == 2);
    BOOST_TEST(p.output.find("--allow-root") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(environment_and_config_file, Files) {
    Env env;
    env.set("TASKD_AGENT_CONCURRENCY", "4");
    env.set("TASKD_AGENT_STEP_TIMEOUT", "10s");
    env.set("TASKD_AGENT_LOG_LEVEL", "");  // set but empty: unset
    const std::string config = (tmp.path() / "agent.conf").string();
    std::ofstream(config) << "step-timeout = 20s\nbackoff-max = 2s\nallow-root = /from-file\n";
    auto args = base();
    args.insert(args.end(), {"--config", config, "--concurrency", "3"});
    const auto p = parse(args);
    BOOST_TEST_REQUIRE(p.run, p.output);
    BOOST_TEST(p.config.concurrency == 3u);                      // the command line wins
    BOOST_TEST(p.config.executor.step_timeout.count() == 10'000);  // the environment beats the file
    BOOST_TEST(p.config.backoff_max.count() == 2'000);            // the file fills the rest
    BOOST_TEST((p.config.allow_roots == std::vector<std::string>{root, "/from-file"}));  // roots add up
}

BOOST_AUTO_TEST_CASE(help_and_version) {
    const auto h = parse({"--help"});
    BOOST_TEST(!h.run);
    BOOST_TEST(h.exit_code == 0);
    BOOST_TEST(h.output.find("--allow-root") != std::string::npos);
    const auto v = parse({"--version"});
    BOOST_TEST(v.exit_code == 0);
    BOOST_TEST(v.output.starts_with("taskd-agent "));
}

BOOST_AUTO_TEST_SUITE_END()
