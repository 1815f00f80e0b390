#include "agent_fixture.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace taskd::test {
namespace fs = std::filesystem;

namespace {

const char* const kFakeDocker = R"SH(#!/bin/sh
# A fake `docker` for the agent's tests: records what it was asked, does what ./mode says.
here=$(dirname "$0")
printf '%s\n' "$@" > "$here/args"
pwd > "$here/cwd"
echo $$ > "$here/pid"
case "$(cat "$here/mode" 2>/dev/null)" in
  fail) echo "service app: no such image" >&2; exit 3 ;;
  hang) sleep 100000 & echo $! > "$here/child"; wait ;;
  block) gate="$here/gate"; [ -p gate ] && gate=gate; cat "$gate" > /dev/null ;;
esac
echo "Container app-1  Started"
)SH";

}  // namespace

AgentFixture::AgentFixture(std::vector<std::string> server_args)
    : ServerFixture(std::move(server_args)), tree(dir.path() / "tree") {
    root = tree / "root";
    outside = tree / "outside";
    bin = tree / "bin";
    fs::create_directories(root);
    fs::create_directories(outside);
    fs::create_directories(bin);
    std::ofstream(bin / "docker") << kFakeDocker;
    fs::permissions(bin / "docker", fs::perms::owner_all);
    if (::mkfifo((bin / "gate").c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    tenant = new_uuid();
    creds = register_agent(tenant, "edge-test");
    std::ofstream(tree / "token") << creds.token << "\n";
}

std::vector<std::string> AgentFixture::agent_args(const std::vector<std::string>& extra) const {
    std::vector<std::string> args{"--server", "http://127.0.0.1:" + std::to_string(server.port()),
                                  "--agent-id", creds.id,
                                  "--token-file", (tree / "token").string(),
                                  "--allow-root", root.string()};
    // Short retries and polls for tests, unless the test sets its own.
    for (const auto& [flag, value] : {std::pair{"--backoff-max", "500ms"}, std::pair{"--poll-wait", "5s"}})
        if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
            args.emplace_back(flag);
            args.emplace_back(value);
        }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

void AgentFixture::start_agent(const std::vector<std::string>& extra) {
    const char* path = std::getenv("PATH");
    agent.start(agent_args(extra), {"PATH=" + bin.string() + ":" + (path ? path : "/usr/bin:/bin")});
    if (!agent.wait_for_log("taskd-agent " TASKD_VERSION ": agent"))
        throw std::runtime_error("taskd-agent did not start; its output:\n" + agent.log());
}

std::string AgentFixture::create(const std::string& type, const boost::json::value& payload, const std::string& extra) {
    auto r = admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":")" + type + R"(","payload":)" +
                                      boost::json::serialize(payload) + extra + "}");
    if (r.status != 201) throw std::runtime_error("create: " + std::to_string(r.status) + " " + r.body);
    return std::string(r.json().at("id").as_string());
}

boost::json::value AgentFixture::wait_done(const std::string& id, std::chrono::seconds bound) {
    const auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
        auto r = admin.get("/tasks/" + id);
        if (r.status == 200) {
            auto v = r.json();
            const auto& status = v.at("status").as_string();
            if (status == "completed" || status == "failed") return v;
        }
        if (std::chrono::steady_clock::now() > until)
            throw std::runtime_error("task " + id + " did not finish; last answer " + r.body + "\nagent log:\n" +
                                     agent.log());
        // Polling the API for a state, bounded above (not a sleep standing in for an event).
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
}

void AgentFixture::docker_mode(const std::string& mode) { std::ofstream(bin / "mode") << mode; }

bool AgentFixture::release_docker(const fs::path& gate, std::chrono::seconds bound) {
    // A FIFO opened for writing without blocking fails with ENXIO until the script has opened
    // it for reading: succeeding is the event that the script is there.
    const auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
        const int fd = ::open((gate.empty() ? bin / "gate" : gate).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            ::close(fd);
            return true;
        }
        if (errno != ENXIO || std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds{10});  // polling a state, bounded
    }
}

std::string AgentFixture::read(const fs::path& p) const {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::size_t AgentFixture::outside_entries() const {
    std::size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(outside); it != fs::recursive_directory_iterator(); ++it) ++n;
    return n;
}

}  // namespace taskd::test
