// agent/executor and agent/command: each task type in-process, against a temp root and a fake
// `docker` script (records its arguments and working directory; fails, hangs or floods on demand).
#include "agent/command.hpp"
#include "agent/executor.hpp"

#include "temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>

using namespace taskd::agent;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const char* const kFakeDocker = R"SH(#!/bin/sh
# A fake `docker`: records what it was asked, then does what ./mode says.
here=$(dirname "$0")
printf '%s\n' "$@" > "$here/args"
pwd > "$here/cwd"
echo $$ > "$here/pid"
case "$(cat "$here/mode" 2>/dev/null)" in
  fail) echo "no such service" >&2; exit 3 ;;
  hang) sleep 1000 & echo $! > "$here/child"; wait ;;
  flood) head -c 200000 /dev/zero | tr '\0' 'x'; echo END ;;
esac
echo "Container app-1  Started"
)SH";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// True once `pid` is gone (or a zombie waiting for init); waits at most `bound` for it.
bool process_gone(int pid, std::chrono::seconds bound = std::chrono::seconds{10}) {
    const auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
        const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
        const auto close = stat.rfind(')');
        if (stat.empty() || (close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z'))
            return true;
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds{5});  // polling a state, bounded above
    }
}

struct Fixture {
    taskd::test::TempDir tmp;
    fs::path root = tmp.path() / "root";
    fs::path bin = tmp.path() / "bin";
    Roots roots;
    ExecutorConfig config;
    Fixture() : roots(make_roots()) {
        fs::create_directories(root / "stack");
        fs::create_directories(bin);
        std::ofstream(bin / "docker") << kFakeDocker;
        fs::permissions(bin / "docker", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
        config.compose_command = {(bin / "docker").string(), "compose"};
    }
    Roots make_roots() {
        fs::create_directories(root);
        return *Roots::open({root.string()});
    }
    Outcome<json::object> run(std::string_view type, std::string_view payload) {
        Executor e(roots, config);
        auto out = e.run(type, json::parse(payload));
        if (!out) BOOST_TEST_MESSAGE(type << " failed: " << out.error().message);
        return out;
    }
    void mode(const std::string& m) { std::ofstream(bin / "mode") << m; }
    std::string r() const { return root.string(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_executor)

BOOST_FIXTURE_TEST_CASE(file_write_writes_and_reports, Fixture) {
    auto out = run("FILE_WRITE", R"({"path":")" + r() + R"(/a.txt","content":"hello"})");
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(slurp(root / "a.txt") == "hello");
    BOOST_TEST(json::serialize(*out) ==
               R"({"path":")" + r() +
                   R"(/a.txt","bytes_written":5,"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"})");
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat((root / "a.txt").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0644u);

    BOOST_TEST(run("FILE_WRITE", R"({"path":")" + r() + R"(/a.txt","content":"x","mode":"0600"})").has_value());
    BOOST_TEST_REQUIRE(::stat((root / "a.txt").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
}

BOOST_FIXTURE_TEST_CASE(file_write_refuses_bad_modes_and_keeps_the_old_file, Fixture) {
    BOOST_TEST(run("FILE_WRITE", R"({"path":")" + r() + R"(/a","content":"old"})").has_value());
    for (const char* mode : {"\"4755\"", "\"0999\"", "\"64\"", "\"00644\"", "420", "\"rw-r--r--\""}) {
        BOOST_TEST_CONTEXT(mode) {
            BOOST_TEST(!run("FILE_WRITE", R"({"path":")" + r() + R"(/a","content":"new","mode":)" + mode + "}")
                            .has_value());
        }
    }
    BOOST_TEST(slurp(root / "a") == "old");
}

BOOST_FIXTURE_TEST_CASE(env_update_creates_and_rewrites, Fixture) {
    auto out = run("ENV_UPDATE", R"({"path":")" + r() + R"(/.env","updates":{"A":"1","B":"two words"}})");
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(slurp(root / ".env") == "A=1\nB='two words'\n");
    BOOST_TEST(json::serialize(out->at("added")) == R"(["A","B"])");
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat((root / ".env").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);  // a new .env may hold secrets

    ::chmod((root / ".env").c_str(), 0640);
    out = run("ENV_UPDATE", R"({"path":")" + r() + R"(/.env","updates":{"B":"3","C":"x"}})");
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(slurp(root / ".env") == "A=1\nB='3'\nC=x\n");
    BOOST_TEST(json::serialize(out->at("updated")) == R"(["B"])");
    BOOST_TEST(json::serialize(out->at("added")) == R"(["C"])");
    BOOST_TEST_REQUIRE(::stat((root / ".env").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0640u);  // an existing file keeps its mode
}

BOOST_FIXTURE_TEST_CASE(docker_reload_runs_the_command_in_the_directory, Fixture) {
    auto out = run("DOCKER_RELOAD", R"({"compose_dir":")" + r() + R"(/stack"})");
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(slurp(bin / "args") == "compose\nup\n-d\n--remove-orphans\n");
    BOOST_TEST(slurp(bin / "cwd") == (root / "stack").string() + "\n");
    BOOST_TEST(out->at("exit_code").as_int64() == 0);
    BOOST_TEST(std::string(out->at("output").as_string()) == "Container app-1  Started\n");
}

BOOST_FIXTURE_TEST_CASE(docker_reload_failure_carries_exit_code_and_output, Fixture) {
    mode("fail");
    auto out = run("DOCKER_RELOAD", R"({"compose_dir":")" + r() + R"(/stack"})");
    BOOST_TEST_REQUIRE(!out.has_value());
    BOOST_TEST(out.error().message.find("exited with status 3") != std::string::npos);
    BOOST_TEST(out.error().extra.at("exit_code").as_int64() == 3);
    BOOST_TEST(std::string(out.error().extra.at("output").as_string()) == "no such service\n");
}

BOOST_FIXTURE_TEST_CASE(docker_reload_timeout_kills_the_whole_group, Fixture) {
    mode("hang");
    config.step_timeout = std::chrono::milliseconds{500};
    auto out = run("DOCKER_RELOAD", R"({"compose_dir":")" + r() + R"(/stack"})");
    BOOST_TEST_REQUIRE(!out.has_value());
    BOOST_TEST(out.error().message.find("timed out") != std::string::npos);
    BOOST_TEST(process_gone(std::stoi(slurp(bin / "pid"))));
    BOOST_TEST(process_gone(std::stoi(slurp(bin / "child"))));  // the script's own child too
}

BOOST_FIXTURE_TEST_CASE(docker_reload_output_is_bounded_to_its_tail, Fixture) {
    mode("flood");
    auto out = run("DOCKER_RELOAD", R"({"compose_dir":")" + r() + R"(/stack"})");
    BOOST_TEST_REQUIRE(out.has_value());
    const std::string output(out->at("output").as_string());
    BOOST_TEST(output.size() == kMaxOutputBytes);
    BOOST_TEST(output.ends_with("END\nContainer app-1  Started\n"));
    BOOST_TEST(out->at("output_bytes").as_uint64() == 200000u + 4 + 25);
}

BOOST_FIXTURE_TEST_CASE(docker_reload_outside_the_roots_runs_nothing, Fixture) {
    for (std::string dir : {tmp.path().string(), std::string("relative"), r() + "/../bin", r() + "/missing"}) {
        BOOST_TEST(!run("DOCKER_RELOAD", R"({"compose_dir":")" + dir + R"("})").has_value());
    }
    BOOST_TEST(!fs::exists(bin / "args"));
}

BOOST_FIXTURE_TEST_CASE(a_missing_command_fails_the_task, Fixture) {
    config.compose_command = {"taskd-no-such-command"};
    auto out = run("DOCKER_RELOAD", R"({"compose_dir":")" + r() + R"(/stack"})");
    BOOST_TEST_REQUIRE(!out.has_value());
    BOOST_TEST(out.error().message.find("taskd-no-such-command") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(composite_runs_steps_in_order, Fixture) {
    auto out = run("COMPOSITE", R"({"sequence":[
        {"task":"FILE_WRITE","payload":{"path":")" + r() + R"(/stack/compose.yaml","content":"services: {}\n"}},
        {"task":"ENV_UPDATE","payload":{"path":")" + r() + R"(/stack/.env","updates":{"TAG":"v2"}}},
        {"task":"DOCKER_RELOAD","payload":{"compose_dir":")" + r() + R"(/stack"}}]})");
    BOOST_TEST_REQUIRE(out.has_value());
    const auto& steps = out->at("steps").as_array();
    BOOST_TEST_REQUIRE(steps.size() == 3u);
    for (const auto& s : steps) BOOST_TEST(s.at("status").as_string() == "ok");
    BOOST_TEST(slurp(root / "stack" / ".env") == "TAG=v2\n");
    BOOST_TEST(slurp(bin / "cwd") == (root / "stack").string() + "\n");
}

BOOST_FIXTURE_TEST_CASE(composite_stops_at_the_first_failure, Fixture) {
    mode("fail");
    auto out = run("COMPOSITE", R"({"sequence":[
        {"task":"FILE_WRITE","payload":{"path":")" + r() + R"(/one","content":"1"}},
        {"task":"DOCKER_RELOAD","payload":{"compose_dir":")" + r() + R"(/stack"}},
        {"task":"FILE_WRITE","payload":{"path":")" + r() + R"(/three","content":"3"}}]})");
    BOOST_TEST_REQUIRE(!out.has_value());
    BOOST_TEST(out.error().message.find("step 2 (DOCKER_RELOAD) failed") == 0u);
    const Failure failure = out.error();  // error() answers a copy
    const auto& steps = failure.extra.at("steps").as_array();
    BOOST_TEST(steps[0].at("status").as_string() == "ok");
    BOOST_TEST(steps[1].at("status").as_string() == "failed");
    BOOST_TEST(steps[1].at("exit_code").as_int64() == 3);
    BOOST_TEST(steps[2].at("status").as_string() == "skipped");
    BOOST_TEST(fs::exists(root / "one"));
    BOOST_TEST(!fs::exists(root / "three"));
}

BOOST_FIXTURE_TEST_CASE(a_nested_composite_is_refused_before_anything_runs, Fixture) {
    auto out = run("COMPOSITE", R"({"sequence":[
        {"task":"FILE_WRITE","payload":{"path":")" + r() + R"(/one","content":"1"}},
        {"task":"COMPOSITE","payload":{"sequence":[]}}]})");
    BOOST_TEST_REQUIRE(!out.has_value());
    BOOST_TEST(out.error().message.find("nested COMPOSITE") != std::string::npos);
    BOOST_TEST(!fs::exists(root / "one"));
}

BOOST_FIXTURE_TEST_CASE(unknown_types_and_bad_payloads_fail_without_a_crash, Fixture) {
    auto out = run("provision_server", "{}");
    BOOST_TEST_REQUIRE(!out.has_value());
    BOOST_TEST(out.error().message == "unsupported task type \"provision_server\"");
    for (const char* p : {"null", "[]", "1", "\"x\"", "{}", R"({"path":1,"content":"x"})", R"({"path":"/x"})",
                          R"({"path":"/x","content":null})", R"({"path":"/x","updates":[]})",
                          R"({"path":"/x","updates":{"A":1}})", R"({"compose_dir":false})", R"({"sequence":{}})",
                          R"({"sequence":[1]})", R"({"sequence":[{"payload":{}}]})", R"({"sequence":[{"task":"X"}]})"}) {
        for (const char* type : {"FILE_WRITE", "ENV_UPDATE", "DOCKER_RELOAD", "COMPOSITE"}) {
            BOOST_TEST_CONTEXT(type << " " << p) { BOOST_TEST(!run(type, p).has_value()); }
        }
    }
}

BOOST_AUTO_TEST_CASE(output_is_made_valid_utf8) {
    BOOST_TEST(to_valid_utf8("plain") == "plain");
    BOOST_TEST(to_valid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    BOOST_TEST(to_valid_utf8("\xA9tail") == "tail");  // a character cut at the start
    BOOST_TEST(to_valid_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
    BOOST_TEST(to_valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    BOOST_TEST(to_valid_utf8("end\xE2\x82") == "end\xEF\xBF\xBD\xEF\xBF\xBD");             // cut at the end
    BOOST_TEST(to_valid_utf8("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
}

BOOST_AUTO_TEST_SUITE_END()
