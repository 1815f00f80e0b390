// Fixtures shared by the integration and stress suites: a running taskd with an admin client,
// and helpers for the calls most tests begin with.
#pragma once

#include "http_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace taskd::test {

struct AgentCredentials {
    std::string id;
    std::string token;
    std::string tenant_id;  // empty: shared agent
};

// A fresh server (fresh data directory) per fixture instance.
struct ServerFixture {
    // `env` entries ("NAME=value") are added to the server's environment.
    explicit ServerFixture(std::vector<std::string> args = {}, std::vector<std::string> env = {});

    TempDir dir;
    ServerProcess server;
    HttpClient admin;  // carries the admin token

    HttpClient client() const { return HttpClient(server.port()); }
    HttpClient client_with_token(const std::string& token) const;

    // POST /tasks; throws unless 201.
    boost::json::value create_task(const std::string& tenant_id, const std::string& type = "noop",
                                   const std::string& payload_json = "{}");
    // POST /agents; throws unless 201.
    AgentCredentials register_agent(const std::string& tenant_id = {}, const std::string& name = "agent");
};

// A random lower-case UUID, for tenant ids.
std::string new_uuid();

}  // namespace taskd::test
