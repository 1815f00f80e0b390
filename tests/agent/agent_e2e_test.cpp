// taskd-agent end to end: a real taskd and a real taskd-agent on loopback. Tasks of every type,
// created through the API, end completed with the files on disk exactly as expected; escape
// attempts end failed with nothing written outside the root.
#include "agent_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace taskd::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string status_of(const json::value& task) { return std::string(task.at("status").as_string()); }
std::string error_of(const json::value& task) {
    const auto* r = task.at("result").if_object();
    const auto* e = r ? r->if_contains("error") : nullptr;
    return e && e->is_string() ? std::string(e->get_string()) : std::string();
}

// A .env with everything the rewriter must keep: comments, blanks, both quotes, export,
// a duplicate key, CRLF lines, an inline comment, a multi-line value, no final newline.
const std::string kTrickyEnv =
    "# app settings\n"
    "\n"
    "export DB_HOST=old-db\n"
    "DB_PASS='s3cr#t'\r\n"
    "GREETING=\"hello world\" # shown on the home page\n"
    "DB_HOST=duplicate\n"
    "  # indented comment\r\n"
    "EMPTY=\n"
    "CERT=\"-----BEGIN\nDB_HOST=not-a-key\n-----END\"\n"
    "LAST=keep";
const std::string kTrickyEnvAfter =
    "# app settings\n"
    "\n"
    "export DB_HOST=db.internal\n"
    "DB_PASS='new pass$1'\r\n"
    "GREETING=\"it's \\\"quoted\\\"\" # shown on the home page\n"
    "DB_HOST=db.internal\n"
    "  # indented comment\r\n"
    "EMPTY=x\n"
    "CERT=\"-----BEGIN\nDB_HOST=not-a-key\n-----END\"\n"
    "LAST=keep\r\n"
    "NEW_KEY='v 1'\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_e2e)

BOOST_FIXTURE_TEST_CASE(every_task_type_completes_with_exact_files, AgentFixture) {
    start_agent();
    const std::string r = root.string();
    fs::create_directories(root / "stack");
    std::ofstream(root / "stack" / ".env", std::ios::binary) << kTrickyEnv;

    const auto fw = create("FILE_WRITE", json::object{{"path", r + "/config.json"},
                                                       {"content", "{\"key\": \"value\"}\n"},
                                                       {"mode", "0640"}});
    const auto env = create("ENV_UPDATE", json::object{{"path", r + "/stack/.env"},
                                                        {"updates", json::object{{"DB_HOST", "db.internal"},
                                                                                 {"DB_PASS", "new pass$1"},
                                                                                 {"GREETING", "it's \"quoted\""},
                                                                                 {"EMPTY", "x"},
                                                                                 {"NEW_KEY", "v 1"}}}});
    const auto dr = create("DOCKER_RELOAD", json::object{{"compose_dir", r + "/stack"}});
    const auto comp = create("COMPOSITE",
                             json::parse(R"({"sequence":[
        {"task":"FILE_WRITE","payload":{"path":")" + r + R"(/stack/compose.yaml","content":"services: {}\n"}},
        {"task":"ENV_UPDATE","payload":{"path":")" + r + R"(/stack/.env.new","updates":{"TAG":"v2"}}},
        {"task":"DOCKER_RELOAD","payload":{"compose_dir":")" + r + R"(/stack"}}]})"));

    const auto t1 = wait_done(fw);
    BOOST_TEST(status_of(t1) == "completed");
    BOOST_TEST(read(root / "config.json") == "{\"key\": \"value\"}\n");
    BOOST_TEST(t1.at("result").at("bytes_written").as_int64() == 17);
    BOOST_TEST(t1.at("result").at("sha256").as_string().size() == 64u);
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat((root / "config.json").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0640u);

    const auto t2 = wait_done(env);
    BOOST_TEST(status_of(t2) == "completed");
    BOOST_TEST(read(root / "stack" / ".env") == kTrickyEnvAfter);  // byte for byte
    BOOST_TEST(json::serialize(t2.at("result").at("updated")) == R"(["DB_HOST","DB_PASS","GREETING","EMPTY"])");
    BOOST_TEST(json::serialize(t2.at("result").at("added")) == R"(["NEW_KEY"])");

    const auto t3 = wait_done(dr);
    BOOST_TEST(status_of(t3) == "completed");
    BOOST_TEST(t3.at("result").at("exit_code").as_int64() == 0);
    BOOST_TEST(t3.at("result").at("output").as_string() == "Container app-1  Started\n");

    const auto t4 = wait_done(comp);
    BOOST_TEST(status_of(t4) == "completed");
    const auto& steps = t4.at("result").at("steps").as_array();
    BOOST_TEST_REQUIRE(steps.size() == 3u);
    for (const auto& s : steps) BOOST_TEST(s.at("status").as_string() == "ok");
    BOOST_TEST(read(root / "stack" / "compose.yaml") == "services: {}\n");
    BOOST_TEST(read(root / "stack" / ".env.new") == "TAG=v2\n");
    // The fake docker ran last for the COMPOSITE, in the stack's directory, without a shell.
    BOOST_TEST(read(bin / "args") == "compose\nup\n-d\n--remove-orphans\n");
    BOOST_TEST(read(bin / "cwd") == (root / "stack").string() + "\n");
    BOOST_TEST(outside_entries() == 0u);
}

BOOST_FIXTURE_TEST_CASE(docker_failure_and_timeout_fail_the_task, AgentFixture) {
    start_agent({"--step-timeout", "1s"});
    fs::create_directories(root / "stack");
    docker_mode("fail");
    const auto failed = wait_done(create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack").string()}}));
    BOOST_TEST(status_of(failed) == "failed");
    BOOST_TEST(error_of(failed) == "docker exited with status 3");
    BOOST_TEST(failed.at("result").at("exit_code").as_int64() == 3);
    BOOST_TEST(failed.at("result").at("output").as_string() == "service app: no such image\n");

    docker_mode("hang");
    const auto hung = wait_done(create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack").string()}}));
    BOOST_TEST(status_of(hung) == "failed");
    BOOST_TEST(error_of(hung).find("timed out after 1s") == 0u);
    // Nothing it started is left: not the script, not its child (each dead or a zombie for init).
    for (const char* file : {"pid", "child"}) {
        const std::string pid = read(bin / file);
        BOOST_TEST_REQUIRE(!pid.empty());
        const std::string stat = read("/proc/" + std::to_string(std::stoi(pid)) + "/stat");
        const auto close = stat.rfind(')');
        BOOST_TEST((stat.empty() || stat.at(close + 2) == 'Z'), file << " still running: " << stat);
    }
}

BOOST_FIXTURE_TEST_CASE(unknown_types_fail_with_a_clear_error, AgentFixture) {
    start_agent({"--poll-wait", "60s"});
    const auto t = wait_done(create("provision_server", json::object{{"host", "x"}}));
    BOOST_TEST(status_of(t) == "failed");
    BOOST_TEST(error_of(t) == "unsupported task type \"provision_server\"");
    // Idle in a 60 s long poll, SIGTERM cuts it: the agent is gone well inside the 30 s bound
    // (were the poll left to run out, stop() would find it still running and say -1).
    BOOST_TEST(agent.wait_for_log(": reported"));
    BOOST_TEST(agent.stop(SIGTERM, std::chrono::seconds{30}) == 0);
}

BOOST_FIXTURE_TEST_CASE(without_long_poll_the_agent_still_finds_tasks, AgentFixture) {
    // --poll-wait 0: every claim answers at once; nulls are followed by a backoff pause, and a
    // task created meanwhile is still found.
    start_agent({"--poll-wait", "0", "--backoff-max", "200ms"});
    const auto t = wait_done(create("FILE_WRITE", json::object{{"path", (root / "p").string()}, {"content", "p"}}));
    BOOST_TEST(status_of(t) == "completed");
    BOOST_TEST(read(root / "p") == "p");
}

BOOST_FIXTURE_TEST_CASE(every_escape_attempt_fails_and_writes_nothing_outside, AgentFixture) {
    start_agent();
    const std::string r = root.string();
    fs::create_directories(outside / "d");
    fs::create_directory_symlink(outside, root / "link-out");  // a symlink to a directory outside
    fs::create_directory_symlink(outside, root / "p");         // a symlinked parent: root/p/d/x
    fs::create_directories(tree / "root-sibling");
    const std::vector<std::string> paths = {
        r + "/../outside/dotdot.txt",
        r + "/link-out/through-link.txt",
        r + "/p/d/through-parent.txt",
        (tree / "root-sibling" / "sibling.txt").string(),
        (outside / "plain.txt").string(),
    };
    std::vector<std::string> ids;
    for (const auto& p : paths) {
        ids.push_back(create("FILE_WRITE", json::object{{"path", p}, {"content", "escaped"}}));
        ids.push_back(create("ENV_UPDATE", json::object{{"path", p}, {"updates", json::object{{"A", "1"}}}}));
    }
    ids.push_back(create("DOCKER_RELOAD", json::object{{"compose_dir", r + "/link-out"}}));
    ids.push_back(create("DOCKER_RELOAD", json::object{{"compose_dir", (tree / "root-sibling").string()}}));
    for (const auto& id : ids) {
        const auto t = wait_done(id);
        BOOST_TEST_CONTEXT(json::serialize(t.at("payload"))) {
            BOOST_TEST(status_of(t) == "failed");
            BOOST_TEST(!error_of(t).empty());
        }
    }
    BOOST_TEST(outside_entries() == 1u);  // only outside/d, which the test made
    BOOST_TEST(fs::is_empty(tree / "root-sibling"));
    BOOST_TEST(!fs::exists(bin / "args"));  // docker never ran

    // A relative path never reaches the agent: the server refuses it (422) at creation.
    auto refused = admin.post("/tasks", R"({"tenant_id":")" + tenant +
                                            R"(","type":"FILE_WRITE","payload":{"path":"rel/x","content":""}})");
    BOOST_TEST(refused.status == 422u);
}

BOOST_FIXTURE_TEST_CASE(a_symlink_swapped_in_during_the_task_fails, AgentFixture) {
    // The agent pauses after its lexical checks and before opening any component; meanwhile the
    // test turns root/sub into a symlink to outside.
    const auto fifo = tree / "pause";
    BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    start_agent({"--debug-pause-fifo", fifo.string()});
    fs::create_directories(root / "sub");
    const auto id = create("FILE_WRITE", json::object{{"path", (root / "sub" / "x.txt").string()}, {"content", "x"}});
    BOOST_TEST_REQUIRE(agent.wait_for_log("debug: paused before resolving"));
    fs::rename(root / "sub", root / "sub.before");
    fs::create_directory_symlink(outside, root / "sub");
    {
        std::ofstream release(fifo);  // opens (the agent is reading) and closes: go on
    }
    const auto t = wait_done(id);
    BOOST_TEST(status_of(t) == "failed");
    BOOST_TEST(error_of(t).find("symbolic link") != std::string::npos, error_of(t));
    BOOST_TEST(outside_entries() == 0u);
    BOOST_TEST(fs::is_empty(root / "sub.before"));
}

BOOST_FIXTURE_TEST_CASE(concurrency_runs_tasks_at_once, AgentFixture) {
    start_agent({"--concurrency", "3"});
    for (const char* stack : {"stack-a", "stack-b"}) {
        fs::create_directories(root / stack);
        BOOST_TEST_REQUIRE(::mkfifo((root / stack / "gate").c_str(), 0600) == 0);
    }
    docker_mode("block");
    const auto a = create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack-a").string()}});
    const auto b = create("DOCKER_RELOAD", json::object{{"compose_dir", (root / "stack-b").string()}});
    // Both blocked commands are claimed while neither has finished: two slots at once.
    BOOST_TEST_REQUIRE(agent.wait_for_log("(DOCKER_RELOAD): claimed", std::chrono::seconds{60}, 2));
    std::vector<std::string> files;
    for (int i = 0; i < 20; ++i)
        files.push_back(create("FILE_WRITE", json::object{{"path", (root / ("f" + std::to_string(i))).string()},
                                                          {"content", std::to_string(i)}}));
    for (const auto& id : files) BOOST_TEST(status_of(wait_done(id)) == "completed");  // the third slot
    BOOST_TEST(release_docker(root / "stack-a" / "gate"));
    BOOST_TEST(release_docker(root / "stack-b" / "gate"));
    BOOST_TEST(status_of(wait_done(a)) == "completed");
    BOOST_TEST(status_of(wait_done(b)) == "completed");
    for (int i = 0; i < 20; ++i) BOOST_TEST(read(root / ("f" + std::to_string(i))) == std::to_string(i));
}

json::value deep_parse(const std::string& text) {
    json::parse_options options;
    options.max_depth = 1024;  // HttpResponse::json() stops at Boost's default, 32
    return json::parse(text, {}, options);
}

// A server that accepts deeper JSON than its default (--max-json-depth 100).
struct DeepServer : AgentFixture {
    DeepServer() : AgentFixture({"--max-json-depth", "100"}) {}
};

BOOST_FIXTURE_TEST_CASE(the_deepest_payload_the_server_takes_is_done, DeepServer) {
    start_agent();
    // The deepest extra field the server accepts in a FILE_WRITE payload: a task nested that deep
    // must be parsed by the agent, or it would be claimed and never reported.
    std::string id;
    for (int depth = 128; depth > 0 && id.empty(); --depth) {
        const std::string nested = std::string(static_cast<std::size_t>(depth), '[') +
                                   std::string(static_cast<std::size_t>(depth), ']');
        auto r = admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"FILE_WRITE","payload":{"path":")" +
                                          (root / "deep").string() + R"(","content":"d","extra":)" + nested + "}}");
        if (r.status == 201) id = std::string(deep_parse(r.body).at("id").as_string());
    }
    BOOST_TEST_REQUIRE(!id.empty());
    BOOST_TEST_REQUIRE(agent.wait_for_log(id + " (FILE_WRITE): reported"), agent.log());
    BOOST_TEST(deep_parse(admin.get("/tasks/" + id).body).at("status").as_string() == "completed");
    BOOST_TEST(read(root / "deep") == "d");
}

BOOST_AUTO_TEST_CASE(flags_are_checked) {
    std::string out;
    BOOST_TEST(AgentProcess::run_to_exit({"--help"}, out) == 0);
    BOOST_TEST(out.find("--allow-root") != std::string::npos);
    std::vector<std::vector<std::string>> bad = {
        {"--server", "http://127.0.0.1:1", "--agent-id", "not-a-uuid", "--token-file", "/dev/null", "--allow-root", "/tmp"},
        {"--server", "ftp://x", "--agent-id", "2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44", "--allow-root", "/tmp"},
    };
    // A complete, valid command line but for one value.
    TempDir tmp;
    const std::string token = (tmp.path() / "token").string();
    std::ofstream(token) << "a-token\n";
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args{"--server", "http://127.0.0.1:1", "--agent-id",
                                      "2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44", "--token-file", token,
                                      "--allow-root", "/tmp"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    };
    bad.push_back(with({"--concurrency", "0"}));
    bad.push_back(with({"--step-timeout", "soon"}));
    bad.push_back(with({"--poll-wait", "61s"}));
    bad.push_back(with({"--allow-root", "relative"}));
    bad.push_back(with({"--no-such-flag"}));
    bad.push_back(with({"stray"}));
    for (const auto& args : bad) {
        BOOST_TEST_CONTEXT(args.back()) {
            BOOST_TEST(AgentProcess::run_to_exit(args, out) == 2);
            BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1);  // one line
        }
    }
}

BOOST_FIXTURE_TEST_CASE(no_allow_root_refuses_to_start, AgentFixture) {
    std::string out;
    auto args = agent_args();
    const auto at = std::find(args.begin(), args.end(), "--allow-root");
    args.erase(at, at + 2);
    BOOST_TEST(AgentProcess::run_to_exit(args, out) == 2);
    BOOST_TEST(out.find("no --allow-root") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
