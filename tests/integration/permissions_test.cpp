// API.md "Authentication": the permission table, one row per endpoint and one column per kind of
// caller; what an agent may learn of tasks; last_seen_at; and what deleting an agent does to its
// token and to the tasks it holds.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>


#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

using namespace taskd::test;
namespace json = boost::json;

namespace {

enum class Caller { admin, tenant_agent, shared_agent, no_token, wrong_token };
constexpr std::array kCallers{Caller::admin, Caller::tenant_agent, Caller::shared_agent, Caller::no_token,
                              Caller::wrong_token};

const char* caller_name(Caller c) {
    switch (c) {
        case Caller::admin: return "admin token";
        case Caller::tenant_agent: return "tenant agent token";
        case Caller::shared_agent: return "shared agent token";
        case Caller::no_token: return "no token";
        case Caller::wrong_token: return "wrong token";
    }
    return "?";
}

// A cell of the table that is not sent (the admin deleting the tenant agent would end the table).
constexpr unsigned kSkip = 0;

// One endpoint of the permission table. Placeholders filled per request:
// {tenant} the tenant agent's tenant; {task} a task the tenant agent holds; {self} the caller's
// own agent id (the tenant agent's for the other callers); {victim} an agent made for this request.
struct PermissionRow {
    const char* method;
    const char* target;
    const char* body;
    std::array<unsigned, kCallers.size()> expected;  // in kCallers order
};

const PermissionRow kPermissionTable[] = {
    {"POST", "/tasks", R"({"tenant_id":"{tenant}","type":"noop"})", {201, 403, 403, 401, 401}},
    {"POST", "/tasks/", R"({"tenant_id":"{tenant}","type":"noop"})", {201, 403, 403, 401, 401}},
    {"GET", "/tasks", "", {200, 403, 403, 401, 401}},
    {"GET", "/tasks/", "", {200, 403, 403, 401, 401}},
    {"GET", "/tasks/{task}", "", {200, 200, 404, 401, 401}},
    {"PATCH", "/tasks/{task}", R"({"result":{"progress":1}})", {200, 200, 404, 401, 401}},
    {"GET", "/tasks/next?agent_id={self}", "", {403, 200, 200, 401, 401}},
    {"POST", "/agents", R"({"name":"new","tenant_id":null})", {201, 403, 403, 401, 401}},
    {"POST", "/agents/", R"({"name":"new","tenant_id":"{tenant}"})", {201, 403, 403, 401, 401}},
    {"GET", "/agents", "", {200, 403, 403, 401, 401}},
    {"GET", "/agents/", "", {200, 403, 403, 401, 401}},
    {"GET", "/agents/{self}", "", {200, 403, 403, 401, 401}},
    {"DELETE", "/agents/{victim}", "", {204, 403, 403, 401, 401}},
    {"DELETE", "/agents/{self}", "", {kSkip, 403, 403, 401, 401}},
    {"GET", "/healthz", "", {200, 200, 200, 200, 200}},
    {"GET", "/readyz", "", {200, 200, 200, 200, 200}},
};

std::string fill(std::string text, const std::map<std::string, std::string>& vars) {
    for (const auto& [name, value] : vars)
        for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size()))
            text.replace(at, name.size(), value);
    return text;
}

std::string text_of(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : "null"; }

// The detail of an error body; a marker when the body is not {"detail": "<text>"}.
std::string detail_of(const HttpResponse& r) {
    boost::system::error_code ec;
    const json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("detail") || !v.at("detail").is_string()) return "<no detail>";
    return text_of(v.at("detail"));
}

// Timestamps as API.md prints them. Of equal length, so comparing the text compares the times.
bool is_timestamp(const json::value& v) {
    static const std::regex kFormat(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
    return v.is_string() && std::regex_match(std::string(v.get_string()), kFormat);
}

json::value agent_as_admin(ServerFixture& f, const std::string& id) {
    auto r = f.admin.get("/agents/" + id);
    BOOST_TEST_REQUIRE(r.status == 200u);
    return r.json();
}

json::value task_as_admin(ServerFixture& f, const std::string& id) {
    auto r = f.admin.get("/tasks/" + id);
    BOOST_TEST_REQUIRE(r.status == 200u);
    return r.json();
}

std::string id_of(const json::value& v) { return std::string(v.at("id").as_string()); }

// Checks the shape of an error answer: 401 carries the Bearer challenge; every error a detail.
void check_error_shape(const HttpResponse& r) {
    if (r.status == 401) BOOST_TEST(r.header("www-authenticate").find("Bearer") == 0u);
    if (r.status >= 400) BOOST_TEST(detail_of(r) != "<no detail>");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(permissions)

BOOST_AUTO_TEST_CASE(permission_table_every_endpoint_every_caller) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials tenant_agent = f.register_agent(tenant, "tenant");
    const AgentCredentials shared_agent = f.register_agent({}, "shared");
    const std::string task = id_of(f.create_task(tenant));
    {
        HttpClient holder = f.client_with_token(tenant_agent.token);
        auto claimed = holder.get("/tasks/next?agent_id=" + tenant_agent.id);
        BOOST_TEST_REQUIRE(claimed.status == 200u);
        BOOST_TEST_REQUIRE(id_of(claimed.json()) == task);
    }

    for (const PermissionRow& row : kPermissionTable) {
        for (std::size_t c = 0; c < kCallers.size(); ++c) {
            const Caller caller = kCallers[c];
            const unsigned want = row.expected[c];
            if (want == kSkip) continue;
            HttpClient client = f.client();
            std::string self = tenant_agent.id;
            if (caller == Caller::admin) client = f.client_with_token(f.server.admin_token());
            if (caller == Caller::tenant_agent) client = f.client_with_token(tenant_agent.token);
            if (caller == Caller::shared_agent) {
                client = f.client_with_token(shared_agent.token);
                self = shared_agent.id;
            }
            if (caller == Caller::wrong_token) client = f.client_with_token("not-a-token-of-this-server");
            std::map<std::string, std::string> vars{{"{tenant}", tenant}, {"{task}", task}, {"{self}", self}};
            if (std::string(row.target).find("{victim}") != std::string::npos)
                vars["{victim}"] = f.register_agent(tenant, "victim").id;
            const std::string target = fill(row.target, vars);
            BOOST_TEST_CONTEXT(row.method << " " << row.target << " as " << caller_name(caller)) {
                auto r = client.request(row.method, target, fill(row.body, vars));
                BOOST_TEST(r.status == want);
                check_error_shape(r);
            }
        }
    }
    // The refused DELETEs of their own ids left both agents working.
    for (const AgentCredentials& agent : {tenant_agent, shared_agent}) {
        HttpClient client = f.client_with_token(agent.token);
        BOOST_TEST(client.get("/tasks/next?agent_id=" + agent.id).status == 200u);
    }
}

BOOST_AUTO_TEST_CASE(agent_reads_only_its_own_tasks_and_others_look_missing) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials me = f.register_agent(tenant, "me");
    const AgentCredentials peer = f.register_agent(tenant, "peer");
    HttpClient mine = f.client_with_token(me.token);
    HttpClient peers = f.client_with_token(peer.token);

    const std::string own = id_of(f.create_task(tenant));
    BOOST_TEST_REQUIRE(id_of(mine.get("/tasks/next?agent_id=" + me.id).json()) == own);
    const std::string finished = id_of(f.create_task(tenant));
    BOOST_TEST_REQUIRE(id_of(mine.get("/tasks/next?agent_id=" + me.id).json()) == finished);
    BOOST_TEST_REQUIRE(mine.patch("/tasks/" + finished, R"({"status":"completed"})").status == 200u);
    const std::string peers_task = id_of(f.create_task(tenant));
    BOOST_TEST_REQUIRE(id_of(peers.get("/tasks/next?agent_id=" + peer.id).json()) == peers_task);
    const std::string pending = id_of(f.create_task(tenant));
    const std::string other_tenant = id_of(f.create_task(new_uuid()));
    const std::string missing = new_uuid();

    BOOST_TEST_CONTEXT("its running task") {
        auto r = mine.get("/tasks/" + own);
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(r.json() == task_as_admin(f, own));
    }
    BOOST_TEST_CONTEXT("its completed task (agent_id is still this agent)") {
        auto r = mine.get("/tasks/" + finished);
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(r.json() == task_as_admin(f, finished));
    }
    // The admin's answer for a missing task is the text every hidden task must show.
    auto admin_missing = f.admin.get("/tasks/" + missing);
    BOOST_TEST(admin_missing.status == 404u);
    BOOST_TEST(detail_of(admin_missing) == "Task " + missing + " not found");

    const std::pair<const char*, std::string> hidden[] = {
        {"a task another agent of its tenant holds", peers_task},
        {"a pending task of its tenant", pending},
        {"a task of another tenant", other_tenant},
        {"a task that does not exist", missing},
    };
    for (const auto& [what, id] : hidden) {
        BOOST_TEST_CONTEXT("GET " << what) {
            auto r = mine.get("/tasks/" + id);
            BOOST_TEST(r.status == 404u);
            BOOST_TEST(detail_of(r) == "Task " + id + " not found");
        }
    }
    // PATCH: like GET, every task that does not name this agent is 404, in its tenant or not.
    for (const auto& [what, id, want] : {std::tuple{"another tenant's task", other_tenant, 404u},
                                         std::tuple{"a missing task", missing, 404u},
                                         std::tuple{"a task its peer holds", peers_task, 404u},
                                         std::tuple{"a pending task of its tenant", pending, 404u}}) {
        BOOST_TEST_CONTEXT("PATCH " << what) {
            const json::value before = f.admin.get("/tasks/" + id).json();
            auto r = mine.patch("/tasks/" + id, R"({"status":"completed","result":{"by":"me"}})");
            BOOST_TEST(r.status == want);
            if (want == 404u) BOOST_TEST(detail_of(r) == "Task " + id + " not found");
            BOOST_TEST(f.admin.get("/tasks/" + id).json() == before);
        }
    }
    BOOST_TEST_CONTEXT("a shared agent's own task of some tenant") {
        const AgentCredentials shared = f.register_agent({}, "shared");
        HttpClient shared_client = f.client_with_token(shared.token);
        const std::string held = id_of(f.create_task(new_uuid()));
        // The oldest pending task of all is `pending`, untouched by the refused PATCHes above.
        BOOST_TEST_REQUIRE(id_of(shared_client.get("/tasks/next?agent_id=" + shared.id).json()) == pending);
        BOOST_TEST(shared_client.get("/tasks/" + pending).status == 200u);
        BOOST_TEST(shared_client.get("/tasks/" + held).status == 404u);
        BOOST_TEST(mine.get("/tasks/" + pending).status == 404u);
    }
}

BOOST_AUTO_TEST_CASE(claim_is_for_agents_with_their_own_id) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials agent = f.register_agent(tenant, "tenant");
    const AgentCredentials shared = f.register_agent({}, "shared");
    const std::string task = id_of(f.create_task(tenant));

    BOOST_TEST_CONTEXT("admin token") {
        auto r = f.admin.get("/tasks/next?agent_id=" + agent.id);
        BOOST_TEST(r.status == 403u);
        check_error_shape(r);
    }
    HttpClient client = f.client_with_token(agent.token);
    for (const auto& [what, id] : {std::pair{"another agent's id", shared.id}, std::pair{"an unknown id", new_uuid()}}) {
        BOOST_TEST_CONTEXT("tenant agent token with " << what) {
            auto r = client.get("/tasks/next?agent_id=" + id);
            BOOST_TEST(r.status == 401u);
            BOOST_TEST(r.header("www-authenticate").find("Bearer") == 0u);
        }
    }
    BOOST_TEST_CONTEXT("shared agent token with the tenant agent's id") {
        HttpClient shared_client = f.client_with_token(shared.token);
        BOOST_TEST(shared_client.get("/tasks/next?agent_id=" + agent.id).status == 401u);
    }
    // None of the refused calls claimed anything.
    const json::value after = task_as_admin(f, task);
    BOOST_TEST(after.at("status").as_string() == "pending");
    BOOST_TEST(after.at("attempts").as_int64() == 0);
    BOOST_TEST(after.at("agent_id").is_null());
}

// API.md "Errors": authentication (401), permission (403), validation (422), existence (404).
BOOST_AUTO_TEST_CASE(checks_run_in_order) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials agent = f.register_agent(tenant, "tenant");
    const std::string other_tenants_task = id_of(f.create_task(new_uuid()));
    struct Row {
        const char* what;
        Caller caller;
        const char* method;
        std::string target;
        const char* body;
        unsigned expected;
    };
    const Row rows[] = {
        {"no token, invalid body", Caller::no_token, "POST", "/tasks", "{", 401},
        {"wrong token, invalid id", Caller::wrong_token, "GET", "/tasks/not-a-uuid", "", 401},
        {"agent on an admin endpoint, invalid body", Caller::tenant_agent, "POST", "/tasks", "{", 403},
        {"agent on an admin endpoint, invalid query", Caller::tenant_agent, "GET", "/tasks?status=bogus", "", 403},
        {"agent on an admin endpoint, invalid id", Caller::tenant_agent, "GET", "/agents/not-a-uuid", "", 403},
        {"agent on an admin endpoint, missing agent", Caller::tenant_agent, "DELETE", "/agents/" + new_uuid(), "", 403},
        {"admin claiming, agent_id missing", Caller::admin, "GET", "/tasks/next", "", 403},
        {"admin claiming, agent_id invalid", Caller::admin, "GET", "/tasks/next?agent_id=bad", "", 403},
        {"agent claiming, agent_id missing", Caller::tenant_agent, "GET", "/tasks/next", "", 422},
        {"agent PATCH, invalid body, task of another tenant", Caller::tenant_agent, "PATCH",
         "/tasks/" + other_tenants_task, R"({"status":"bogus"})", 422},
        {"agent PATCH, invalid id", Caller::tenant_agent, "PATCH", "/tasks/not-a-uuid", R"({"status":"failed"})", 422},
        {"agent PATCH, task of another tenant", Caller::tenant_agent, "PATCH", "/tasks/" + other_tenants_task,
         R"({"status":"failed"})", 404},
    };
    for (const Row& row : rows) {
        BOOST_TEST_CONTEXT(row.what << ": " << row.method << " " << row.target << " as " << caller_name(row.caller)) {
            HttpClient client = f.client();
            if (row.caller == Caller::admin) client = f.client_with_token(f.server.admin_token());
            if (row.caller == Caller::tenant_agent) client = f.client_with_token(agent.token);
            if (row.caller == Caller::wrong_token) client = f.client_with_token("not-a-token-of-this-server");
            auto r = client.request(row.method, row.target, row.body);
            BOOST_TEST(r.status == row.expected);
            if (r.status != 422u) check_error_shape(r);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_authenticated_agent_request_moves_last_seen_at) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials agent = f.register_agent(tenant, "watched");
    const AgentCredentials peer = f.register_agent(tenant, "peer");
    HttpClient peer_client = f.client_with_token(peer.token);
    const std::string peers_task = id_of(f.create_task(tenant));
    BOOST_TEST_REQUIRE(id_of(peer_client.get("/tasks/next?agent_id=" + peer.id).json()) == peers_task);
    f.create_task(tenant);  // for the watched agent to claim

    BOOST_TEST(agent_as_admin(f, agent.id).at("last_seen_at").is_null());
    // Requests that do not authenticate as the agent leave it unseen.
    HttpClient stranger = f.client_with_token("wrong-" + agent.token);
    BOOST_TEST(stranger.get("/tasks/next?agent_id=" + agent.id).status == 401u);
    f.admin.get("/tasks/" + peers_task);
    BOOST_TEST(agent_as_admin(f, agent.id).at("last_seen_at").is_null());

    struct Step {
        const char* what;
        const char* method;
        std::string target;
        std::string body;
        unsigned expected;
    };
    const std::string missing = new_uuid();
    const Step steps[] = {
        {"claim", "GET", "/tasks/next?agent_id=" + agent.id, "", 200},
        {"claim with nothing pending", "GET", "/tasks/next?agent_id=" + agent.id, "", 200},
        {"missing task", "GET", "/tasks/" + missing, "", 404},
        {"PATCH of a task another agent holds", "PATCH", "/tasks/" + peers_task, R"({"status":"completed"})", 404},
        {"PATCH with an invalid body", "PATCH", "/tasks/" + missing, R"({"status":"done"})", 422},
        {"admin endpoint", "GET", "/tasks", "", 403},
        {"claim with another agent's id", "GET", "/tasks/next?agent_id=" + peer.id, "", 401},
    };
    HttpClient client = f.client_with_token(agent.token);
    std::string previous;  // "" sorts before every timestamp
    for (const Step& step : steps) {
        BOOST_TEST_CONTEXT(step.what) {
            BOOST_TEST(client.request(step.method, step.target, step.body).status == step.expected);
            const json::value seen = agent_as_admin(f, agent.id).at("last_seen_at");
            BOOST_TEST_REQUIRE(is_timestamp(seen));
            BOOST_TEST(text_of(seen) > previous);
            previous = text_of(seen);
        }
    }
    // Only the watched agent was seen by its requests: the peer's time is its own claim's.
    const json::value peer_seen = agent_as_admin(f, peer.id).at("last_seen_at");
    BOOST_TEST_REQUIRE(is_timestamp(peer_seen));
    BOOST_TEST(text_of(peer_seen) < previous);
}

BOOST_AUTO_TEST_CASE(deleting_an_agent_revokes_its_token_and_releases_its_running_tasks) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    const AgentCredentials doomed = f.register_agent(tenant, "doomed");
    const AgentCredentials heir = f.register_agent(tenant, "heir");
    HttpClient client = f.client_with_token(doomed.token);
    const auto claim = [&](HttpClient& c, const std::string& agent_id) {
        auto r = c.get("/tasks/next?agent_id=" + agent_id);
        BOOST_TEST_REQUIRE(r.status == 200u);
        return r.json();
    };

    auto created = f.admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"noop","max_attempts":3})");
    BOOST_TEST_REQUIRE(created.status == 201u);
    const std::string retried = id_of(created.json());
    BOOST_TEST_REQUIRE(id_of(claim(client, doomed.id)) == retried);
    created = f.admin.post("/tasks", R"({"tenant_id":")" + tenant + R"(","type":"noop","max_attempts":1})");
    BOOST_TEST_REQUIRE(created.status == 201u);
    const std::string last_chance = id_of(created.json());
    BOOST_TEST_REQUIRE(id_of(claim(client, doomed.id)) == last_chance);
    const std::string done = id_of(f.create_task(tenant));
    BOOST_TEST_REQUIRE(id_of(claim(client, doomed.id)) == done);
    BOOST_TEST_REQUIRE(client.patch("/tasks/" + done, R"({"status":"completed","result":{"ok":true}})").status == 200u);
    const json::value done_before = task_as_admin(f, done);

    auto deleted = f.admin.del("/agents/" + doomed.id);
    BOOST_TEST_REQUIRE(deleted.status == 204u);

    BOOST_TEST_CONTEXT("its token stops working at once") {
        for (const std::string& target : {"/tasks/next?agent_id=" + doomed.id, "/tasks/" + done}) {
            auto r = client.get(target);
            BOOST_TEST(r.status == 401u);
            BOOST_TEST(r.header("www-authenticate").find("Bearer") == 0u);
        }
        BOOST_TEST(client.patch("/tasks/" + retried, R"({"status":"completed"})").status == 401u);
    }
    BOOST_TEST_CONTEXT("the agent is gone") {
        BOOST_TEST(f.admin.get("/agents/" + doomed.id).status == 404u);
        BOOST_TEST(f.admin.del("/agents/" + doomed.id).status == 404u);
    }
    BOOST_TEST_CONTEXT("a running task with attempts left is re-queued") {
        const json::value t = task_as_admin(f, retried);
        BOOST_TEST(t.at("status").as_string() == "pending");
        BOOST_TEST(t.at("agent_id").is_null());
        BOOST_TEST(t.at("lease_expires_at").is_null());
        BOOST_TEST(t.at("attempts").as_int64() == 1);
        BOOST_TEST(t.at("result").is_null());
    }
    BOOST_TEST_CONTEXT("a running task on its last attempt fails") {
        const json::value t = task_as_admin(f, last_chance);
        BOOST_TEST(t.at("status").as_string() == "failed");
        BOOST_TEST(t.at("result") == json::parse(R"({"error":"agent deleted"})"));
        BOOST_TEST(text_of(t.at("agent_id")) == doomed.id);
        BOOST_TEST(t.at("lease_expires_at").is_null());
        BOOST_TEST(t.at("attempts").as_int64() == 1);
    }
    BOOST_TEST_CONTEXT("a finished task is left as it was") { BOOST_TEST(task_as_admin(f, done) == done_before); }
    BOOST_TEST_CONTEXT("another agent claims the re-queued task") {
        HttpClient heirs = f.client_with_token(heir.token);
        const json::value t = claim(heirs, heir.id);
        BOOST_TEST_REQUIRE(t.is_object());
        BOOST_TEST(id_of(t) == retried);
        BOOST_TEST(t.at("attempts").as_int64() == 2);
        BOOST_TEST(text_of(t.at("agent_id")) == heir.id);
    }
}

// A token file that others on the machine may read is refused at start, with one line saying
// how to fix it; the same file made private is taken.
BOOST_AUTO_TEST_CASE(an_admin_token_file_readable_by_others_stops_the_start) {
    TempDir dir;
    const auto token = dir.path() / "admin.token";
    std::ofstream(token) << "a-token-of-more-than-16-characters\n";
    std::filesystem::permissions(token, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                            std::filesystem::perms::group_read | std::filesystem::perms::others_read);
    std::string out;
    const int status = ServerProcess::run_to_exit(
        {"--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "data").string(), "--admin-token-file", token.string()},
        &out);
    BOOST_TEST(status == 2, out);
    BOOST_TEST(out.find("chmod 600 " + token.string()) != std::string::npos, out);

    std::filesystem::permissions(token, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    ServerProcess server;
    server.start(dir.path() / "data", {"--admin-token-file", token.string()});
    HttpClient admin(server.port());
    admin.set_token("a-token-of-more-than-16-characters");
    BOOST_TEST(admin.get("/tasks").status == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
