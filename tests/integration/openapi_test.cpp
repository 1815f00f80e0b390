// GET /openapi.json and GET /docs on the real server: the served document names exactly the
// routes of the router, its examples validate against its schemas (openapi_examples.py, with
// Debian's python3-jsonschema), it is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator,
// from npm, which scripts/setup installs in .tools/: PyPI's openapi-spec-validator is out of
// reach of these machines), and /docs, rendered by headless Chromium, shows every operation
// with a curl example. Each external checker is also shown a broken document and must refuse
// it, so that a checker that passes everything cannot go unnoticed.
#include "api_operations.hpp"
#include "fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

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
