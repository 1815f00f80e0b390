// AgentFixture: a real taskd (ServerFixture) and a real taskd-agent on loopback, with a temp tree
//   root/      the agent's --allow-root
//   outside/   beside it: every test checks that nothing ever lands here
//   bin/       a fake `docker`, first on the agent's PATH: it records its arguments and working
//              directory, and fails, hangs or blocks on a FIFO as bin/mode says
#pragma once

#include "agent_process.hpp"
#include "fixture.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace taskd::test {

struct AgentFixture : ServerFixture {
    // `server_args` go to taskd.
    explicit AgentFixture(std::vector<std::string> server_args = {});

    std::filesystem::path tree;  // dir.path() / "tree"
    std::filesystem::path root, outside, bin;
    std::string tenant;
    AgentCredentials creds;
    AgentProcess agent;

    // Starts the agent with the usual flags plus `extra`.
    void start_agent(const std::vector<std::string>& extra = {});
    std::vector<std::string> agent_args(const std::vector<std::string>& extra = {}) const;

    // POST /tasks for the agent's tenant; the new task's id.
    std::string create(const std::string& type, const boost::json::value& payload, const std::string& extra = {});
    // GET /tasks/{id} until its status is completed or failed (bounded); the task.
    boost::json::value wait_done(const std::string& id, std::chrono::seconds bound = std::chrono::seconds{90});

    // The fake docker's behaviour: "" (succeed), "fail", "hang", "block" (until release()).
    void docker_mode(const std::string& mode);
    // Lets a docker blocked in "block" mode go on: opens its gate for writing once the script
    // has it open for reading, and closes it. False if the script is not there within `bound`.
    // The gate is bin/gate, or a FIFO named `gate` in the compose directory when there is one
    // (so that two blocked commands can be released one at a time).
    bool release_docker(const std::filesystem::path& gate = {}, std::chrono::seconds bound = std::chrono::seconds{60});
    std::string read(const std::filesystem::path& p) const;
    // Every file and directory under outside/.
    std::size_t outside_entries() const;
};

}  // namespace taskd::test
