#include "fixture.hpp"

#include "model/uuid.hpp"

#include <stdexcept>

namespace taskd::test {

std::string new_uuid() { return model::to_string(model::random_uuid()); }

ServerFixture::ServerFixture(std::vector<std::string> args, std::vector<std::string> env) : admin(0) {
    server.start(dir.path() / "data", std::move(args), std::move(env));
    admin = HttpClient(server.port());
    admin.set_token(server.admin_token());
}

HttpClient ServerFixture::client_with_token(const std::string& token) const {
    HttpClient c(server.port());
    c.set_token(token);
    return c;
}

boost::json::value ServerFixture::create_task(const std::string& tenant_id, const std::string& type,
                                              const std::string& payload_json) {
    auto r = admin.post("/tasks", R"({"tenant_id":")" + tenant_id + R"(","type":")" + type +
                                      R"(","payload":)" + payload_json + "}");
    if (r.status != 201) throw std::runtime_error("create_task: " + std::to_string(r.status) + " " + r.body);
    return r.json();
}

AgentCredentials ServerFixture::register_agent(const std::string& tenant_id, const std::string& name) {
    const std::string tenant = tenant_id.empty() ? "null" : "\"" + tenant_id + "\"";
    auto r = admin.post("/agents", R"({"name":")" + name + R"(","tenant_id":)" + tenant + "}");
    if (r.status != 201) throw std::runtime_error("register_agent: " + std::to_string(r.status) + " " + r.body);
    const auto v = r.json();
    return {std::string(v.at("id").as_string()), std::string(v.at("token").as_string()), tenant_id};
}

}  // namespace taskd::test
