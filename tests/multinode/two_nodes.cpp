#include "two_nodes.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>

namespace taskd::test {
namespace {

struct PostgresInstalled {
    PostgresInstalled() {
        if (PostgresCluster::find_binaries()) return;
        std::printf("SKIPPED: PostgreSQL is not installed (scripts/setup installs postgresql-15)\n");
        std::fflush(stdout);
        std::_Exit(77);
    }
};
BOOST_TEST_GLOBAL_FIXTURE(PostgresInstalled);

}  // namespace

TwoNodes::TwoNodes(const std::vector<std::string>& extra_args) {
    cluster.create_database("taskd");
    start(a, "a", extra_args);
    start(b, "b", extra_args);
}

void TwoNodes::start(ServerProcess& node, const std::string& name, const std::vector<std::string>& extra_args) {
    std::vector<std::string> args{"--database-url", cluster.url("taskd"), "--maintenance-interval", "200ms"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    node.start(dir.path() / name, std::move(args), {std::string("TASKD_ADMIN_TOKEN=") + kAdminToken});
}

HttpClient TwoNodes::admin(const ServerProcess& node) {
    HttpClient c(node.port());
    c.set_token(std::string(kAdminToken));
    return c;
}

HttpClient TwoNodes::as(const ServerProcess& node, const std::string& token) {
    HttpClient c(node.port());
    c.set_token(token);
    return c;
}

std::string task_body(const std::string& tenant, const std::string& type) {
    return R"({"tenant_id":")" + tenant + R"(","type":")" + type + R"(","payload":{}})";
}

AgentCredentials register_agent(HttpClient& admin, const std::string& tenant) {
    const std::string t = tenant.empty() ? "null" : "\"" + tenant + "\"";
    auto r = admin.post("/agents", R"({"name":"agent","tenant_id":)" + t + "}");
    BOOST_TEST_REQUIRE(r.status == 201u, r.body);
    const auto v = r.json();
    return {std::string(v.at("id").as_string()), std::string(v.at("token").as_string()), tenant};
}

std::string id_of(const HttpResponse& r) { return std::string(r.json().at("id").as_string()); }

}  // namespace taskd::test
