// GET /openapi.json and GET /docs on the real server: the served document names exactly the
// routes of the router; its examples validate against its schemas (openapi_examples.py, with
// Debian's python3-jsonschema); the server's own answers match it (openapi_answers.py); it is
// valid OpenAPI 3.1 (@seriousme/openapi-schema-validator, from npm, which scripts/setup
// installs in .tools/: PyPI's openapi-spec-validator is out of reach of these machines); and
// /docs, rendered by headless Chromium, shows every operation with a curl example. Each
// external checker is also shown a broken document and must refuse it, so that a checker that
// passes everything cannot go unnoticed.
#include "api_operations.hpp"
#include "fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

struct Run {
    int status = -1;  // exit status; -1 if it did not exit
    std::string output;  // stdout and stderr
};

Run run(const std::string& command) {
    Run r;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    BOOST_TEST_REQUIRE(p != nullptr);
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p)) r.output += buf;
    const int status = ::pclose(p);
    if (WIFEXITED(status)) r.status = WEXITSTATUS(status);
    return r;
}

bool have(const std::string& program) { return run("command -v " + program + " >/dev/null").status == 0; }

std::string write_file(const std::filesystem::path& path, const std::string& content) {
    std::ofstream(path) << content;
    return path.string();
}

HttpResponse fetch_document(ServerFixture& f) {
    auto r = f.client().get("/openapi.json");  // no token: open, as FastAPI serves it
    BOOST_TEST_REQUIRE(r.status == 200u, r.body);
    BOOST_TEST(r.header("content-type") == "application/json");
    return r;
}

const std::string kExamplesScript = TASKD_SOURCE_DIR "/tests/integration/openapi_examples.py";
const std::string kAnswersScript = TASKD_SOURCE_DIR "/tests/integration/openapi_answers.py";
const std::string kValidator = TASKD_SOURCE_DIR "/.tools/openapi-validator/node_modules/.bin/validate-api";

bool is_method(std::string_view key) {
    for (const char* m : {"get", "put", "post", "delete", "options", "head", "patch", "trace"})
        if (key == m) return true;
    return false;
}

// The text between `from` and the next `to` in `text`, or empty.
std::string between(const std::string& text, const std::string& from, const std::string& to) {
    const auto start = text.find(from);
    if (start == std::string::npos) return {};
    const auto end = text.find(to, start);
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openapi)

BOOST_AUTO_TEST_CASE(the_served_document_names_exactly_the_routes_served) {
    ServerFixture f;
    const auto served = document_operations(json::parse(fetch_document(f).body));
    const auto routes = router_operations();
    for (const auto& op : routes) BOOST_TEST(served.count(op) == 1u, op << " is served but not documented");
    for (const auto& op : served) BOOST_TEST(routes.count(op) == 1u, op << " is documented but not served");
    // The document describes itself, and the page.
    BOOST_TEST(served.count("GET /openapi.json") == 1u);
    BOOST_TEST(served.count("GET /docs") == 1u);
}

BOOST_AUTO_TEST_CASE(every_example_validates_against_its_schema) {
    ServerFixture f;
    const std::string body = fetch_document(f).body;
    const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const Run good = run(python + " " + kExamplesScript + " " + write_file(f.dir.path() / "openapi.json", body));
    if (good.status == 77) {
        BOOST_TEST_MESSAGE("SKIPPED: " << good.output);
        return;
    }
    BOOST_TEST(good.status == 0, good.output);
    BOOST_TEST_MESSAGE(good.output);

    // A task example with a status that does not exist must be refused, naming where it is.
    json::value broken = json::parse(body);
    broken.at("components").at("examples").at("PendingTask").at("value").as_object()["status"] = "paused";
    const Run bad = run(python + " " + kExamplesScript + " " +
                        write_file(f.dir.path() / "broken.json", json::serialize(broken)));
    BOOST_TEST(bad.status == 1, bad.output);
    BOOST_TEST(bad.output.find("'paused' is not one of") != std::string::npos, bad.output);
}

// The server's own answers, of every operation and most documented statuses, against the
// document: the status is documented, and the body matches its schema.
BOOST_AUTO_TEST_CASE(real_answers_match_the_document) {
    ServerFixture f({"--max-body-bytes", "4096", "--max-pending-per-tenant", "3"});
    json::array answers;
    // One request; `path` is the operation's path as the document names it.
    auto call = [&](HttpClient& c, const std::string& method, const std::string& target, const std::string& path,
                    const std::string& body = {}, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        auto r = c.request(method, target, body, headers);
        answers.push_back(json::object{{"method", method},
                                       {"path", path},
                                       {"status", r.status},
                                       {"content_type", r.header("content-type")},
                                       {"body", r.body}});
        return r;
    };
    HttpClient anonymous = f.client();
    HttpClient& admin = f.admin;
    const std::string tenant = new_uuid();
    const std::string missing = new_uuid();
    auto task_body = [&](const std::string& t) {
        return R"({"tenant_id":")" + t + R"(","type":"FILE_WRITE","payload":{"path":"/opt/app/config.json","content":"{}"}})";
    };

    for (const char* path : {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"}) call(anonymous, "GET", path, path);

    const auto registered = call(admin, "POST", "/agents", "/agents", R"({"name":"edge-01","tenant_id":")" + tenant + "\"}");
    BOOST_TEST_REQUIRE(registered.status == 201u, registered.body);
    const std::string agent_id(registered.json().at("id").as_string());
    HttpClient agent = f.client_with_token(std::string(registered.json().at("token").as_string()));
    const auto other = call(admin, "POST", "/agents/", "/agents/", R"({"name":"shared-01","tenant_id":null})");
    HttpClient other_agent = f.client_with_token(std::string(other.json().at("token").as_string()));
    call(admin, "POST", "/agents", "/agents", R"({"name":""})");
    call(admin, "GET", "/agents", "/agents");
    call(admin, "GET", "/agents/", "/agents/");
    call(admin, "GET", "/agents/" + agent_id, "/agents/{agent_id}");
    call(admin, "GET", "/agents/" + missing, "/agents/{agent_id}");
    call(admin, "GET", "/agents/not-a-uuid", "/agents/{agent_id}");
    call(agent, "GET", "/agents", "/agents");
    call(anonymous, "GET", "/agents", "/agents");

    const auto created = call(admin, "POST", "/tasks", "/tasks", task_body(tenant), {{"Idempotency-Key", "k-1"}});
    BOOST_TEST_REQUIRE(created.status == 201u, created.body);
    const std::string task_id(created.json().at("id").as_string());
    call(admin, "POST", "/tasks/", "/tasks/", task_body(tenant), {{"Idempotency-Key", "k-1"}});  // 200: a repeat
    call(admin, "POST", "/tasks", "/tasks", task_body(new_uuid()), {{"Idempotency-Key", "k-1"}});  // 201: another tenant
    call(admin, "POST", "/tasks", "/tasks", R"({"tenant_id":")" + tenant + R"(","type":"FILE_WRITE","payload":{}})",
         {{"Idempotency-Key", "k-1"}});  // 422: another body
    call(admin, "POST", "/tasks", "/tasks", R"({"type":"COMPOSITE","payload":{"sequence":[{"task":"X"}]}})");
    call(admin, "POST", "/tasks", "/tasks", "{\"tenant_id\": 1,");
    call(admin, "POST", "/tasks", "/tasks", task_body(tenant) + std::string(5000, ' '));  // 413
    call(agent, "POST", "/tasks", "/tasks", task_body(tenant));
    call(anonymous, "POST", "/tasks", "/tasks", task_body(tenant));
    const std::string crowded = new_uuid();  // --max-pending-per-tenant 3: the fourth is 429
    for (int i = 0; i < 4; ++i) call(admin, "POST", "/tasks", "/tasks", task_body(crowded));

    call(admin, "GET", "/tasks?limit=1", "/tasks");  // with a Link header
    call(admin, "GET", "/tasks/?status=pending", "/tasks/");
    call(admin, "GET", "/tasks?status=paused&limit=0", "/tasks");
    call(agent, "GET", "/tasks", "/tasks");

    const auto claimed = call(agent, "GET", "/tasks/next?agent_id=" + agent_id, "/tasks/next");
    BOOST_TEST_REQUIRE(claimed.status == 200u, claimed.body);
    call(agent, "GET", "/tasks/next?agent_id=" + agent_id, "/tasks/next");  // null: nothing else pending
    call(agent, "GET", "/tasks/next", "/tasks/next");                      // 422: no agent_id
    call(other_agent, "GET", "/tasks/next?agent_id=" + agent_id, "/tasks/next");  // 401: not its token
    call(admin, "GET", "/tasks/next?agent_id=" + agent_id, "/tasks/next");        // 403

    call(agent, "GET", "/tasks/" + task_id, "/tasks/{task_id}");
    call(admin, "GET", "/tasks/" + missing, "/tasks/{task_id}");
    call(admin, "GET", "/tasks/x", "/tasks/{task_id}");
    call(anonymous, "GET", "/tasks/" + task_id, "/tasks/{task_id}");
    call(agent, "PATCH", "/tasks/" + task_id, "/tasks/{task_id}", R"({"status":"running"})");
    call(agent, "PATCH", "/tasks/" + task_id, "/tasks/{task_id}", R"({"status":"completed","result":{"bytes_written":2}})");
    call(agent, "PATCH", "/tasks/" + task_id, "/tasks/{task_id}", R"({"status":"running"})");  // 409: not held
    call(admin, "PATCH", "/tasks/" + task_id, "/tasks/{task_id}", R"({"status":"running"})");  // 409: transition
    call(admin, "PATCH", "/tasks/" + task_id, "/tasks/{task_id}", R"({"status":"done","result":[]})");
    call(admin, "PATCH", "/tasks/" + missing, "/tasks/{task_id}", R"({"status":"failed"})");

    call(admin, "DELETE", "/agents/" + agent_id, "/agents/{agent_id}");
    call(admin, "DELETE", "/agents/" + agent_id, "/agents/{agent_id}");  // 404
    call(agent, "GET", "/tasks/next?agent_id=" + agent_id, "/tasks/next");  // 401: its token is dead

    const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const std::string document = write_file(f.dir.path() / "openapi.json", fetch_document(f).body);
    const std::string answers_file = write_file(f.dir.path() / "answers.json", json::serialize(answers));
    const Run checked = run(python + " " + kAnswersScript + " " + document + " " + answers_file);
    if (checked.status == 77) {
        BOOST_TEST_MESSAGE("SKIPPED: " << checked.output);
        return;
    }
    BOOST_TEST(checked.status == 0, checked.output);
    BOOST_TEST_MESSAGE(checked.output);

    // Every status the scenario meant to reach, so that a request gone wrong cannot leave a
    // documented status unchecked.
    std::set<std::string> seen;
    for (const auto& a : answers)
        seen.insert(std::string(a.at("method").as_string()) + " " + std::string(a.at("path").as_string()) + " " +
                    std::to_string(a.at("status").to_number<unsigned>()));
    for (const char* expected :
         {"POST /tasks 201", "POST /tasks/ 200", "POST /tasks 422", "POST /tasks 413", "POST /tasks 403",
          "POST /tasks 401", "POST /tasks 429", "GET /tasks 200", "GET /tasks/ 200", "GET /tasks 422", "GET /tasks 403",
          "GET /tasks/next 200", "GET /tasks/next 422", "GET /tasks/next 401", "GET /tasks/next 403",
          "GET /tasks/{task_id} 200", "GET /tasks/{task_id} 404", "GET /tasks/{task_id} 422", "GET /tasks/{task_id} 401",
          "PATCH /tasks/{task_id} 200", "PATCH /tasks/{task_id} 409", "PATCH /tasks/{task_id} 422",
          "PATCH /tasks/{task_id} 404", "POST /agents 201", "POST /agents/ 201", "POST /agents 422", "GET /agents 200",
          "GET /agents/ 200", "GET /agents 403", "GET /agents 401", "GET /agents/{agent_id} 200",
          "GET /agents/{agent_id} 404", "GET /agents/{agent_id} 422", "DELETE /agents/{agent_id} 204",
          "DELETE /agents/{agent_id} 404", "GET /healthz 200", "GET /readyz 200", "GET /metrics 200",
          "GET /openapi.json 200", "GET /docs 200"})
        BOOST_TEST(seen.count(expected) == 1u, expected << " was not answered");
}

BOOST_AUTO_TEST_CASE(the_document_is_valid_openapi_3_1) {
    ServerFixture f;
    const std::string body = fetch_document(f).body;
    if (!std::filesystem::exists(kValidator) || !have("node")) {
        BOOST_TEST_MESSAGE("SKIPPED: the OpenAPI validator is not installed: " << kValidator
                                                                              << " (scripts/setup installs it)");
        return;
    }
    const Run good = run(kValidator + " " + write_file(f.dir.path() / "openapi.json", body));
    BOOST_TEST(good.status == 0, good.output);
    BOOST_TEST(good.output.find("\"valid\": true") != std::string::npos, good.output);

    // Without its required "info" the document is not OpenAPI; the validator must say so.
    json::value broken = json::parse(body);
    broken.as_object().erase("info");
    const Run bad = run(kValidator + " " + write_file(f.dir.path() / "broken.json", json::serialize(broken)));
    BOOST_TEST(bad.status != 0, bad.output);
    BOOST_TEST(bad.output.find("must have required property 'info'") != std::string::npos, bad.output);
}

BOOST_AUTO_TEST_CASE(docs_shows_every_operation_with_a_curl_example_in_chromium) {
    ServerFixture f;
    const auto page = f.client().get("/docs");
    BOOST_TEST_REQUIRE(page.status == 200u);
    BOOST_TEST(page.header("content-type") == "text/html; charset=utf-8");
    if (!have("chromium")) {
        BOOST_TEST_MESSAGE("SKIPPED: chromium is not installed (scripts/setup installs it)");
        return;
    }
    const json::value doc = json::parse(fetch_document(f).body);
    const std::string base = "http://127.0.0.1:" + std::to_string(f.server.port());
    // One run: --dump-dom prints the DOM once the page has loaded, and the page renders while
    // loading. timeout(1) bounds a Chromium that hangs; its own profile keeps runs apart.
    const std::string dom_file = (f.dir.path() / "dom.html").string();
    const Run chromium = run("timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run "
                             "--user-data-dir=" + (f.dir.path() / "chromium").string() + " --dump-dom " + base +
                             "/docs > " + dom_file);
    BOOST_TEST_REQUIRE(chromium.status == 0, chromium.output);
    std::ifstream in(dom_file);
    const std::string dom((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

    std::size_t operations = 0;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method, op] : item.as_object()) {
            if (!is_method(method)) continue;
            ++operations;
            std::string upper(method);
            for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            const std::string where = upper + " " + std::string(path);
            const std::string section =
                between(dom, "data-method=\"" + upper + "\" data-path=\"" + std::string(path) + "\"", "</section>");
            BOOST_TEST_REQUIRE(!section.empty(), where << " is not on the page");
            BOOST_TEST(section.find(std::string(path) + "</code>") != std::string::npos, where);
            // The curl line: the method, this server's URL with the path up to its first
            // parameter, the token the operation asks for first, and a body where it takes one.
            const std::string curl = between(section, "<pre class=\"curl\">", "</pre>");
            const std::string path_head(path.substr(0, path.find('{')));
            BOOST_TEST(curl.find("curl -X " + upper + " '" + base + path_head) != std::string::npos,
                       where << ": " << curl);
            const auto& security = op.at("security").as_array();
            if (!security.empty() && !security[0].as_object().empty()) {
                const bool admin = security[0].as_object().contains("adminToken");
                BOOST_TEST(curl.find(admin ? "Authorization: Bearer $ADMIN_TOKEN" : "Authorization: Bearer $AGENT_TOKEN") !=
                               std::string::npos,
                           where << ": " << curl);
            }
            if (op.as_object().contains("requestBody"))
                BOOST_TEST(curl.find("-d '{") != std::string::npos, where << ": " << curl);
        }
    }
    BOOST_TEST(operations == router_operations().size());
}

BOOST_AUTO_TEST_SUITE_END()
