// server/options: flags, TASKD_* environment variables and --config FILE -> Config.
#include "server/options.hpp"

#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using taskd::server::ParsedOptions;

// Takes every TASKD_* variable out of the environment for the test and puts them back after,
// so that neither the caller's environment nor a test's setenv leaks across.
struct CleanEnvironment {
    std::vector<std::pair<std::string, std::string>> saved;

    static std::vector<std::string> taskd_names() {
        std::vector<std::string> names;
        for (char** e = environ; *e; ++e) {
            const std::string entry(*e);
            if (entry.starts_with("TASKD_")) names.push_back(entry.substr(0, entry.find('=')));
        }
        return names;
    }
    CleanEnvironment() {
        for (const std::string& name : taskd_names()) {
            saved.emplace_back(name, std::getenv(name.c_str()));
            ::unsetenv(name.c_str());
        }
    }
    ~CleanEnvironment() {
        for (const std::string& name : taskd_names()) ::unsetenv(name.c_str());
        for (const auto& [name, value] : saved) ::setenv(name.c_str(), value.c_str(), 1);
    }
    static void set(const char* name, const char* value) { ::setenv(name, value, 1); }

    static ParsedOptions parse(std::vector<std::string> args) {
        args.insert(args.begin(), "taskd");
        std::vector<const char*> argv;
        for (const auto& a : args) argv.push_back(a.c_str());
        return taskd::server::parse_options(static_cast<int>(argv.size()), argv.data());
    }
};

std::string joined(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
    return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(options, CleanEnvironment)

BOOST_AUTO_TEST_CASE(defaults) {
    const auto p = parse({});
    BOOST_TEST_REQUIRE(p.run);
    BOOST_TEST(p.exit_code == 0);
    BOOST_TEST(p.output.empty());
    const auto& c = p.config;
    BOOST_TEST(c.listen == "127.0.0.1:8000");
    BOOST_TEST(c.data_dir.string() == "data");
    BOOST_TEST(c.admin_token_file.empty());
    BOOST_TEST(c.admin_token_env.empty());
    BOOST_TEST(!c.insecure_no_admin_auth);
    BOOST_TEST(c.threads == std::max(1u, std::thread::hardware_concurrency()));  // 0 means one per core
    BOOST_TEST(c.shutdown_timeout.count() == 10'000);
    BOOST_TEST(c.http.max_body_bytes == 1u << 20);
    BOOST_TEST(c.http.max_header_bytes == 16u << 10);
    BOOST_TEST(c.http.max_connections == 16384u);
    BOOST_TEST(c.http.max_connections_per_ip == 1024u);
    BOOST_TEST(c.http.header_timeout.count() == 10'000);
    BOOST_TEST(c.http.body_timeout.count() == 30'000);
    BOOST_TEST(c.http.idle_timeout.count() == 60'000);
    BOOST_TEST(c.http.write_timeout.count() == 30'000);
    BOOST_TEST(c.api.max_json_depth == 32u);
    BOOST_TEST(c.api.default_lease_seconds == 300u);
    BOOST_TEST((c.log_level == taskd::util::LogLevel::info));
    BOOST_TEST(!c.debug_frozen_clock);
    BOOST_TEST(c.maintenance.snapshot_every_segments == 8u);
    BOOST_TEST(!c.journal.debug_skip_write);
}

BOOST_AUTO_TEST_CASE(every_flag_reaches_the_config) {
    const auto p = parse({"--listen", "0.0.0.0:9000", "--data-dir", "/var/lib/taskd", "--admin-token-file", "/etc/t",
                          "--insecure-no-admin-auth", "--threads", "4", "--shutdown-timeout", "500ms",
                          "--max-body-bytes", "2048", "--max-header-bytes", "4096", "--max-json-depth", "8",
                          "--max-connections", "10", "--max-connections-per-ip", "0", "--header-timeout", "1s",
                          "--body-timeout", "2m",
                          "--idle-timeout", "3h", "--write-timeout=1d", "--lease-seconds=42", "--log-level", "debug",
                          "--debug-frozen-clock", "--snapshot-every-segments", "3", "--debug-skip-journal-write"});
    BOOST_TEST_REQUIRE(p.run, p.output);
    const auto& c = p.config;
    BOOST_TEST(c.listen == "0.0.0.0:9000");
    BOOST_TEST(c.data_dir.string() == "/var/lib/taskd");
    BOOST_TEST(c.admin_token_file == "/etc/t");
    BOOST_TEST(c.insecure_no_admin_auth);
    BOOST_TEST(c.threads == 4u);
    BOOST_TEST(c.shutdown_timeout.count() == 500);
    BOOST_TEST(c.http.max_body_bytes == 2048u);
    BOOST_TEST(c.http.max_header_bytes == 4096u);
    BOOST_TEST(c.api.max_json_depth == 8u);
    BOOST_TEST(c.http.max_connections == 10u);
    BOOST_TEST(c.http.max_connections_per_ip == 0u);
    BOOST_TEST(c.http.header_timeout.count() == 1'000);
    BOOST_TEST(c.http.body_timeout.count() == 120'000);
    BOOST_TEST(c.http.idle_timeout.count() == 3 * 3'600'000);
    BOOST_TEST(c.http.write_timeout.count() == 86'400'000);
    BOOST_TEST(c.api.default_lease_seconds == 42u);
    BOOST_TEST((c.log_level == taskd::util::LogLevel::debug));
    BOOST_TEST(c.debug_frozen_clock);
    BOOST_TEST(c.maintenance.snapshot_every_segments == 3u);
    BOOST_TEST(c.journal.debug_skip_write);
}

BOOST_AUTO_TEST_CASE(durations) {
    const std::pair<const char*, long long> cases[] = {
        {"500ms", 500}, {"10s", 10'000}, {"5m", 300'000}, {"2h", 7'200'000}, {"7d", 604'800'000},
        {"10", 10'000},  // a bare number is seconds
        {"1ms", 1},
    };
    for (const auto& [text, ms] : cases) {
        BOOST_TEST_CONTEXT(text) {
            const auto p = parse({"--idle-timeout", text});
            BOOST_TEST_REQUIRE(p.run, p.output);
            BOOST_TEST(p.config.http.idle_timeout.count() == ms);
        }
    }
}

BOOST_AUTO_TEST_CASE(levels) {
    const std::pair<const char*, taskd::util::LogLevel> cases[] = {{"debug", taskd::util::LogLevel::debug},
                                                                   {"info", taskd::util::LogLevel::info},
                                                                   {"warn", taskd::util::LogLevel::warn},
                                                                   {"error", taskd::util::LogLevel::error}};
    for (const auto& [text, level] : cases) {
        BOOST_TEST_CONTEXT(text) {
            const auto p = parse({"--log-level", text});
            BOOST_TEST_REQUIRE(p.run);
            BOOST_TEST((p.config.log_level == level));
        }
    }
}

BOOST_AUTO_TEST_CASE(log_format_and_access_log) {
    const auto defaults = parse({});
    BOOST_TEST_REQUIRE(defaults.run);
    BOOST_TEST((defaults.config.log_format == taskd::util::LogFormat::text));
    BOOST_TEST(defaults.config.access_log);
    const auto set = parse({"--log-format", "json", "--access-log=false"});
    BOOST_TEST_REQUIRE(set.run);
    BOOST_TEST((set.config.log_format == taskd::util::LogFormat::json));
    BOOST_TEST(!set.config.access_log);
    for (const char* on : {"true", "1", "yes", "on"}) {
        const auto p = parse({std::string("--access-log=") + on});
        BOOST_TEST_REQUIRE(p.run, on);
        BOOST_TEST(p.config.access_log, on);
    }
}

BOOST_AUTO_TEST_CASE(bad_values_exit_2_with_one_line) {
    const std::vector<std::vector<std::string>> cases{
        {"--threads", "abc"},
        {"--threads", "-1"},
        {"--threads", "1025"},
        {"--threads", "99999999999999999999"},
        {"--max-body-bytes", "0"},
        {"--max-body-bytes", "1.5"},
        {"--max-header-bytes", "1023"},
        {"--max-json-depth", "0"},
        {"--max-json-depth", "1001"},
        {"--max-connections", "0"},
        {"--max-connections-per-ip", "-1"},
        {"--max-connections-per-ip", "1000001"},
        {"--lease-seconds", "0"},
        {"--lease-seconds", "86401"},
        {"--lease-seconds", "5", "--lease-seconds", "6"},
        {"--snapshot-every-segments", "2"},
        {"--snapshot-every-segments", "1000001"},
        {"--shutdown-timeout", "10x"},
        {"--shutdown-timeout", "0s"},
        {"--shutdown-timeout", ""},
        {"--idle-timeout", "-5s"},
        {"--header-timeout", "s"},
        {"--body-timeout", "1.5s"},
        {"--write-timeout", "10 s"},
        {"--write-timeout", "99999999999999999d"},
        {"--unknown-flag"},
        {"--log-level", "loud"},
        {"--log-level", "INFO"},
        {"--log-format", "xml"},
        {"--max-tasks", "-1"},
        {"--max-pending-per-tenant", "many"},
        {"--access-log", "maybe"},
        {"--listen"},
        {"--config", "/nonexistent/taskd.conf"},
    };
    for (const auto& args : cases) {
        BOOST_TEST_CONTEXT(joined(args)) {
            const auto p = parse(args);
            BOOST_TEST(!p.run);
            BOOST_TEST(p.exit_code == 2);
            BOOST_TEST(p.output.starts_with("taskd: "));
            BOOST_TEST(p.output.find('\n') == p.output.size() - 1);  // one line, ending the output
        }
    }
}

// "taskd 8080" or "taskd listen=0.0.0.0:80" is a mistake, not a request to run with defaults.
BOOST_AUTO_TEST_CASE(stray_positional_argument_is_refused) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"8080"},
                                                 std::vector<std::string>{"--threads", "2", "listen=0.0.0.0:80"}}) {
        BOOST_TEST_CONTEXT(joined(args)) {
            const auto p = parse(args);
            BOOST_TEST(!p.run);
            BOOST_TEST(p.exit_code == 2);
            BOOST_TEST(p.output.starts_with("taskd: "));
        }
    }
}

BOOST_AUTO_TEST_CASE(help_mentions_every_flag) {
    for (const char* flag : {"--help", "-h"}) {
        BOOST_TEST_CONTEXT(flag) {
            const auto p = parse({flag});
            BOOST_TEST(!p.run);
            BOOST_TEST(p.exit_code == 0);
            for (const char* name :
                 {"--help", "--version", "--config", "--listen", "--data-dir", "--admin-token-file",
                  "--insecure-no-admin-auth", "--threads", "--shutdown-timeout", "--max-body-bytes", "--max-header-bytes",
                  "--max-json-depth", "--max-connections", "--max-connections-per-ip", "--header-timeout", "--body-timeout", "--idle-timeout",
                  "--write-timeout", "--lease-seconds", "--log-level", "--debug-frozen-clock", "--snapshot-every-segments",
                  "--debug-skip-journal-write", "TASKD_ADMIN_TOKEN"}) {
                BOOST_TEST_CONTEXT(name) { BOOST_TEST(p.output.find(name) != std::string::npos); }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(version) {
    const auto p = parse({"--version"});
    BOOST_TEST(!p.run);
    BOOST_TEST(p.exit_code == 0);
    BOOST_TEST(p.output == std::string("taskd ") + TASKD_VERSION + "\n");
}

BOOST_AUTO_TEST_CASE(environment_is_read_and_flags_win) {
    set("TASKD_LEASE_SECONDS", "120");
    set("TASKD_MAX_JSON_DEPTH", "5");
    set("TASKD_LISTEN", "[::1]:7000");
    set("TASKD_IDLE_TIMEOUT", "2m");
    set("TASKD_DEBUG_FROZEN_CLOCK", "true");
    set("TASKD_ADMIN_TOKEN", "an-admin-token-from-env");
    set("TASKD_SOMETHING_ELSE", "ignored");  // not a flag: not an error either
    set("TASKD_HELP", "1");                  // --help only from the command line
    const auto from_env = parse({});
    BOOST_TEST_REQUIRE(from_env.run, from_env.output);
    BOOST_TEST(from_env.config.api.default_lease_seconds == 120u);
    BOOST_TEST(from_env.config.api.max_json_depth == 5u);
    BOOST_TEST(from_env.config.listen == "[::1]:7000");
    BOOST_TEST(from_env.config.http.idle_timeout.count() == 120'000);
    BOOST_TEST(from_env.config.debug_frozen_clock);
    BOOST_TEST(from_env.config.admin_token_env == "an-admin-token-from-env");

    const auto flags = parse({"--lease-seconds", "300", "--listen", "127.0.0.1:1"});  // 300 is the default: still wins
    BOOST_TEST_REQUIRE(flags.run, flags.output);
    BOOST_TEST(flags.config.api.default_lease_seconds == 300u);
    BOOST_TEST(flags.config.listen == "127.0.0.1:1");
    BOOST_TEST(flags.config.api.max_json_depth == 5u);

    set("TASKD_MAX_JSON_DEPTH", "lots");
    const auto bad = parse({});
    BOOST_TEST(!bad.run);
    BOOST_TEST(bad.exit_code == 2);
    BOOST_TEST(bad.output.starts_with("taskd: "));
    // A bad value in the environment is overridden by a good flag.
    BOOST_TEST(parse({"--max-json-depth", "6"}).config.api.max_json_depth == 6u);
}

BOOST_AUTO_TEST_CASE(config_file_is_read_and_environment_and_flags_win) {
    const taskd::test::TempDir dir;
    const auto file = dir.path() / "taskd.conf";
    std::ofstream(file) << "# a comment\n"
                           "lease-seconds = 11\n"
                           "max-json-depth = 9\n"
                           "listen = 10.0.0.1:5\n"
                           "threads = 3\n"
                           "shutdown-timeout = 5m\n"
                           "insecure-no-admin-auth = true\n";
    const auto only_file = parse({"--config", file.string()});
    BOOST_TEST_REQUIRE(only_file.run, only_file.output);
    BOOST_TEST(only_file.config.api.default_lease_seconds == 11u);
    BOOST_TEST(only_file.config.api.max_json_depth == 9u);
    BOOST_TEST(only_file.config.listen == "10.0.0.1:5");
    BOOST_TEST(only_file.config.threads == 3u);
    BOOST_TEST(only_file.config.shutdown_timeout.count() == 300'000);
    BOOST_TEST(only_file.config.insecure_no_admin_auth);

    set("TASKD_MAX_JSON_DEPTH", "10");
    set("TASKD_THREADS", "2");
    const auto layered = parse({"--config", file.string(), "--threads", "1", "--lease-seconds", "12"});
    BOOST_TEST_REQUIRE(layered.run, layered.output);
    BOOST_TEST(layered.config.api.max_json_depth == 10u);        // environment over file
    BOOST_TEST(layered.config.threads == 1u);                    // flag over environment over file
    BOOST_TEST(layered.config.api.default_lease_seconds == 12u); // flag over file
    BOOST_TEST(layered.config.listen == "10.0.0.1:5");           // file over default

    set("TASKD_CONFIG", file.string().c_str());
    const auto via_env = parse({});
    BOOST_TEST_REQUIRE(via_env.run, via_env.output);
    BOOST_TEST(via_env.config.api.default_lease_seconds == 11u);
}

BOOST_AUTO_TEST_CASE(bad_config_files_exit_2) {
    const taskd::test::TempDir dir;
    const std::pair<const char*, const char*> cases[] = {
        {"unknown.conf", "no-such-option = 1\n"},
        {"range.conf", "lease-seconds = 0\n"},
        {"type.conf", "threads = many\n"},
        {"duration.conf", "idle-timeout = soon\n"},
    };
    for (const auto& [name, text] : cases) {
        BOOST_TEST_CONTEXT(name) {
            const auto file = dir.path() / name;
            std::ofstream(file) << text;
            const auto p = parse({"--config", file.string()});
            BOOST_TEST(!p.run);
            BOOST_TEST(p.exit_code == 2);
            BOOST_TEST(p.output.starts_with("taskd: "));
            BOOST_TEST(p.output.find('\n') == p.output.size() - 1);
        }
    }
}

// HTTPS needs both files; one of them alone is a mistake worth stopping for.
BOOST_AUTO_TEST_CASE(tls_cert_and_key_go_together) {
    const auto both = parse({"--tls-cert", "/etc/taskd/cert.pem", "--tls-key", "/etc/taskd/key.pem"});
    BOOST_TEST_REQUIRE(both.run, both.output);
    BOOST_TEST(both.config.tls_cert_file == "/etc/taskd/cert.pem");
    BOOST_TEST(both.config.tls_key_file == "/etc/taskd/key.pem");
    const auto neither = parse({});
    BOOST_TEST(neither.config.tls_cert_file.empty());
    BOOST_TEST(neither.config.tls_key_file.empty());
    for (const char* flag : {"--tls-cert", "--tls-key"}) {
        BOOST_TEST_CONTEXT(flag) {
            const auto p = parse({flag, "/etc/taskd/x.pem"});
            BOOST_TEST(!p.run);
            BOOST_TEST(p.exit_code == 2);
            BOOST_TEST(std::count(p.output.begin(), p.output.end(), '\n') == 1);
            BOOST_TEST(p.output.find("--tls-cert and --tls-key go together") != std::string::npos, p.output);
        }
    }
    const auto help = parse({"--help"});
    BOOST_TEST(help.output.find("--tls-cert") != std::string::npos);
    BOOST_TEST(help.output.find("--tls-key") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
