// The multi-node suite's fixture: two real taskd processes with the same admin token on one
// fresh database of a PostgreSQL the fixture starts itself (tests/support/postgres_cluster).
// Where PostgreSQL is not installed the suite says so and is skipped (exit 77; two_nodes.cpp).
#pragma once

#include "fixture.hpp"
#include "postgres_cluster.hpp"

#include <string>
#include <vector>

namespace taskd::test {

inline constexpr const char* kAdminToken = "multi-node-admin-token-0123456789abcdef";

struct TwoNodes {
    PostgresCluster cluster;
    TempDir dir;
    ServerProcess a;
    ServerProcess b;

    // `extra_args` go to both nodes.
    explicit TwoNodes(const std::vector<std::string>& extra_args = {});
    void start(ServerProcess& node, const std::string& name, const std::vector<std::string>& extra_args = {});
    static HttpClient admin(const ServerProcess& node);
    static HttpClient as(const ServerProcess& node, const std::string& token);
};

// A POST /tasks body with an empty payload.
std::string task_body(const std::string& tenant, const std::string& type = "noop");
// POST /agents through `admin` (test-fails unless 201); an empty `tenant` is a shared agent.
AgentCredentials register_agent(HttpClient& admin, const std::string& tenant);
// The "id" of a JSON answer.
std::string id_of(const HttpResponse& r);

}  // namespace taskd::test
