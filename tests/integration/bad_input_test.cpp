// Bad input against the real taskd, as a table: every way a client can get a request wrong.
//
// One server takes the whole table. Each case asserts its exact status and the body API.md
// prescribes ({"detail": "<message>"}, or for 422 the FastAPI list of {loc, msg, type}), then
// that the server still serves. At the end, what was created before the cases is still there
// and unchanged: no bad request may create, change or delete anything, nor answer 5xx.
#include "fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Whose token a case sends.
enum class Who { admin, none, agent_a1, agent_b1, agent_c1 };

struct Case {
    std::string name;
    std::string method;
    std::string target;
    std::string body;
    unsigned status = 0;
    unsigned alt_status = 0;         // a second acceptable status, where API.md allows two
    Who who = Who::admin;
    Headers headers;                 // extra request headers (may replace Authorization)
    std::optional<std::string> raw;  // bytes sent as they are on a fresh connection
    std::string loc;                 // 422: the first error's loc, as JSON text
    std::string loc_root;            // 422: the first element of the first error's loc
    std::string detail_is;           // the string detail, exactly
    std::string detail_has;          // a substring of the string detail
    Headers header_has;              // an answer header (lower-case name) containing a text

    Case as(Who w) && {
        who = w;
        return std::move(*this);
    }
    Case at(std::string expected_loc) && {
        loc = std::move(expected_loc);
        return std::move(*this);
    }
    Case root(std::string first) && {
        loc_root = std::move(first);
        return std::move(*this);
    }
    Case detail(std::string text) && {
        detail_is = std::move(text);
        return std::move(*this);
    }
    Case detail_contains(std::string text) && {
        detail_has = std::move(text);
        return std::move(*this);
    }
    Case send_header(std::string header_name, std::string value) && {
        headers.emplace_back(std::move(header_name), std::move(value));
        return std::move(*this);
    }
    Case expect_header(std::string lower_name, std::string text) && {
        header_has.emplace_back(std::move(lower_name), std::move(text));
        return std::move(*this);
    }
    Case or_status(unsigned other) && {
        alt_status = other;
        return std::move(*this);
    }
};

Case req(std::string name, std::string method, std::string target, std::string body, unsigned status) {
    Case c;
    c.name = std::move(name);
    c.method = std::move(method);
    c.target = std::move(target);
    c.body = std::move(body);
    c.status = status;
    return c;
}

Case raw(std::string name, std::string bytes, unsigned status) {
    Case c = req(std::move(name), "RAW", "", "", status);
    c.raw = std::move(bytes);
    c.who = Who::none;
    return c;
}

// `levels` objects nested in one another: {"a":{"a":{}}} is 3.
std::string nested_objects(int levels) {
    std::string s;
    for (int i = 1; i < levels; ++i) s += R"({"a":)";
    s += "{}";
    s.append(static_cast<std::size_t>(levels - 1), '}');
    return s;
}

// A COMPOSITE payload of `n` valid steps.
std::string composite_steps(int n) {
    std::string s = R"({"sequence":[)";
    for (int i = 0; i < n; ++i) {
        if (i > 0) s += ',';
        s += R"({"task":"DOCKER_RELOAD","payload":{"compose_dir":"/srv/app"}})";
    }
    return s + "]}";
}

bool is_string(const json::value& v, std::string_view text) { return v.is_string() && v.get_string() == text; }

std::optional<json::value> parse(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return std::nullopt;
    return v;
}

// The shape API.md requires of every error answer; for 422, of every item in the list.
void check_answer(const Case& c, const HttpResponse& r) {
    if (c.alt_status) BOOST_TEST((r.status == c.status || r.status == c.alt_status));
    else BOOST_TEST(r.status == c.status);
    BOOST_TEST(r.status < 500u);

    for (const auto& [header_name, text] : c.header_has)
        BOOST_TEST(r.header(header_name).find(text) != std::string::npos, header_name << ": " << r.header(header_name));
    if (r.status == 401) BOOST_TEST(r.header("www-authenticate") == "Bearer");
    if (r.status == 405) BOOST_TEST(!r.header("allow").empty());

    const auto body = parse(r.body);
    if (!body || !body->is_object() || !body->as_object().contains("detail")) {
        BOOST_ERROR("the body is not a JSON object with \"detail\"");
        return;
    }
    const json::value& detail = body->as_object().at("detail");

    if (r.status != 422) {
        BOOST_TEST(detail.is_string());
        if (!detail.is_string()) return;
        const std::string text(detail.get_string());
        if (!c.detail_is.empty()) BOOST_TEST(text == c.detail_is);
        if (!c.detail_has.empty()) BOOST_TEST(text.find(c.detail_has) != std::string::npos, text);
        return;
    }

    BOOST_TEST((detail.is_array() && !detail.get_array().empty()));
    if (!detail.is_array() || detail.get_array().empty()) return;
    for (const json::value& item : detail.get_array()) {
        const json::object* e = item.if_object();
        BOOST_TEST(e != nullptr);
        if (!e) continue;
        const json::value* loc = e->if_contains("loc");
        BOOST_TEST((loc && loc->is_array() && !loc->get_array().empty()));
        if (loc && loc->is_array() && !loc->get_array().empty()) {
            const json::value& first = loc->get_array().front();
            BOOST_TEST((is_string(first, "body") || is_string(first, "query") || is_string(first, "path")),
                       "loc starts with " << first);
        }
        BOOST_TEST((e->contains("msg") && e->at("msg").is_string()));
        BOOST_TEST((e->contains("type") && e->at("type").is_string()));
    }
    const json::object* first = detail.get_array().front().if_object();
    if (!first || !first->contains("loc") || !first->at("loc").is_array()) return;
    const json::array& first_loc = first->at("loc").get_array();
    if (!c.loc.empty())
        BOOST_TEST((first_loc == json::parse(c.loc).get_array()), "loc " << first_loc << ", expected " << c.loc);
    if (!c.loc_root.empty() && !first_loc.empty())
        BOOST_TEST(is_string(first_loc.front(), c.loc_root), "loc " << first_loc << ", not from " << c.loc_root);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(every_bad_request_is_a_4xx_and_changes_nothing) {
    ServerFixture f;
    const unsigned short port = f.server.port();
    const std::string admin_token = f.server.admin_token();

    // Before the cases: tenant A's task t0 (never claimed until the end), a task tc of tenant C
    // held by agent c2, agents a1, a2 (tenant A), b1 (tenant B), c1, c2 (tenant C).
    const std::string tenant_a = new_uuid();
    const std::string tenant_b = new_uuid();
    const std::string tenant_c = new_uuid();
    const json::value t0_before =
        f.create_task(tenant_a, "FILE_WRITE", R"({"path":"/opt/app/config.json","content":"{}","mode":"0644"})");
    const std::string t0(t0_before.at("id").as_string());
    const AgentCredentials a1 = f.register_agent(tenant_a, "a1");
    const AgentCredentials a2 = f.register_agent(tenant_a, "a2");
    const AgentCredentials b1 = f.register_agent(tenant_b, "b1");
    const AgentCredentials c1 = f.register_agent(tenant_c, "c1");
    const AgentCredentials c2 = f.register_agent(tenant_c, "c2");
    const std::string tc(f.create_task(tenant_c).at("id").as_string());
    {
        HttpClient holder = f.client_with_token(c2.token);
        auto claimed = holder.get("/tasks/next?agent_id=" + c2.id);
        BOOST_TEST_REQUIRE(claimed.status == 200u);
        BOOST_TEST_REQUIRE(claimed.json().at("id").as_string() == tc);
    }
    const std::string missing_id = new_uuid();

    // Bodies of POST /tasks for tenant A.
    auto task_of = [&](const std::string& type_json, const std::string& payload_json) {
        return R"({"tenant_id":")" + tenant_a + R"(","type":)" + type_json + R"(,"payload":)" + payload_json + "}";
    };
    auto typed = [&](const std::string& type, const std::string& payload_json) {
        return task_of("\"" + type + "\"", payload_json);
    };
    auto noop_with = [&](const std::string& field) {
        return R"({"tenant_id":")" + tenant_a + R"(","type":"noop","payload":{},)" + field + "}";
    };
    const std::string ok_task = typed("noop", "{}");
    const std::string big_blob = typed("noop", R"({"blob":")" + std::string(2u << 20, 'a') + R"("})");
    std::string chunked_2mib = "POST /tasks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + admin_token +
                               "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 32; ++i) chunked_2mib += "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
    chunked_2mib += "0\r\n\r\n";
    // 29 bytes, version 1, as a cursor is, but with a CRC the server never wrote.
    const std::string forged_cursor = "AQ" + std::string(37, 'A');

    const std::vector<Case> cases = {
        // Malformed JSON is a 422 too (API.md, "Errors").
        req("json: {bad", "POST", "/tasks", "{bad", 422).root("body"),
        req("json: trailing garbage", "POST", "/tasks", "{}x", 422).root("body"),
        req("json: truncated", "POST", "/tasks", R"({"tenant_id":")" + tenant_a, 422).root("body"),
        req("json: empty body", "POST", "/tasks", "", 422).at(R"(["body"])"),
        req("json: only whitespace", "POST", "/tasks", " \r\n\t ", 422).at(R"(["body"])"),
        req("json: an array", "POST", "/tasks", "[]", 422).at(R"(["body"])"),
        req("json: a string", "POST", "/tasks", R"("task")", 422).at(R"(["body"])"),
        req("json: a number", "POST", "/tasks", "42", 422).at(R"(["body"])"),
        req("json: null", "POST", "/tasks", "null", 422).at(R"(["body"])"),
        req("json: bad body on /tasks/", "POST", "/tasks/", "{bad", 422).root("body"),
        req("json: PATCH {bad", "PATCH", "/tasks/" + t0, "{bad", 422).root("body"),
        req("json: PATCH empty body", "PATCH", "/tasks/" + t0, "", 422).at(R"(["body"])"),
        req("json: PATCH an array", "PATCH", "/tasks/" + t0, "[]", 422).at(R"(["body"])"),
        req("json: POST /agents an array", "POST", "/agents", "[1]", 422).at(R"(["body"])"),
        req("json: POST /agents {bad", "POST", "/agents", "{bad", 422).root("body"),

        // POST /tasks: every field, wrong.
        req("tenant_id: a number", "POST", "/tasks", R"({"tenant_id":123,"type":"noop","payload":{}})", 422)
            .at(R"(["body","tenant_id"])"),
        req("tenant_id: not a uuid", "POST", "/tasks", R"({"tenant_id":"x","type":"noop","payload":{}})", 422)
            .at(R"(["body","tenant_id"])"),
        req("tenant_id: null", "POST", "/tasks", R"({"tenant_id":null,"type":"noop","payload":{}})", 422)
            .at(R"(["body","tenant_id"])"),
        req("tenant_id: missing", "POST", "/tasks", R"({"type":"noop","payload":{}})", 422)
            .at(R"(["body","tenant_id"])"),
        req("type: a number", "POST", "/tasks", task_of("7", "{}"), 422).at(R"(["body","type"])"),
        req("type: missing", "POST", "/tasks", R"({"tenant_id":")" + tenant_a + R"("})", 422).at(R"(["body","type"])"),
        req("type: empty", "POST", "/tasks", typed("", "{}"), 422).at(R"(["body","type"])"),
        req("type: 65 characters", "POST", "/tasks", typed(std::string(65, 't'), "{}"), 422).at(R"(["body","type"])"),
        req("type: a space", "POST", "/tasks", typed("a b", "{}"), 422).at(R"(["body","type"])"),
        req("type: a slash", "POST", "/tasks", typed("x/y", "{}"), 422).at(R"(["body","type"])"),
        req("payload: an array", "POST", "/tasks", typed("noop", "[1]"), 422).at(R"(["body","payload"])"),
        req("payload: a string", "POST", "/tasks", typed("noop", R"("{}")"), 422).at(R"(["body","payload"])"),
        req("payload: null", "POST", "/tasks", typed("noop", "null"), 422).at(R"(["body","payload"])"),
        req("max_attempts: a string", "POST", "/tasks", noop_with(R"("max_attempts":"3")"), 422)
            .at(R"(["body","max_attempts"])"),
        req("max_attempts: 0", "POST", "/tasks", noop_with(R"("max_attempts":0)"), 422)
            .at(R"(["body","max_attempts"])"),
        req("max_attempts: 101", "POST", "/tasks", noop_with(R"("max_attempts":101)"), 422)
            .at(R"(["body","max_attempts"])"),
        req("max_attempts: 1.5", "POST", "/tasks", noop_with(R"("max_attempts":1.5)"), 422)
            .at(R"(["body","max_attempts"])"),
        req("max_attempts: true", "POST", "/tasks", noop_with(R"("max_attempts":true)"), 422)
            .at(R"(["body","max_attempts"])"),
        req("max_attempts: 2^64", "POST", "/tasks", noop_with(R"("max_attempts":18446744073709551616)"), 422)
            .at(R"(["body","max_attempts"])"),
        req("lease_seconds: 0", "POST", "/tasks", noop_with(R"("lease_seconds":0)"), 422)
            .at(R"(["body","lease_seconds"])"),
        req("lease_seconds: 86401", "POST", "/tasks", noop_with(R"("lease_seconds":86401)"), 422)
            .at(R"(["body","lease_seconds"])"),
        req("lease_seconds: a string", "POST", "/tasks", noop_with(R"("lease_seconds":"300")"), 422)
            .at(R"(["body","lease_seconds"])"),

        // Scheduling (issue 23): priority 0-9, not_before with an offset, delay_seconds 0-31536000.
        req("priority: 10", "POST", "/tasks", noop_with(R"("priority":10)"), 422).at(R"(["body","priority"])"),
        req("priority: -1", "POST", "/tasks", noop_with(R"("priority":-1)"), 422).at(R"(["body","priority"])"),
        req("priority: \"high\"", "POST", "/tasks", noop_with(R"("priority":"high")"), 422)
            .at(R"(["body","priority"])"),
        req("priority: 5.5", "POST", "/tasks", noop_with(R"("priority":5.5)"), 422).at(R"(["body","priority"])"),
        req("not_before and delay_seconds", "POST", "/tasks",
            noop_with(R"("not_before":"2030-01-01T00:00:00Z","delay_seconds":60)"), 422)
            .at(R"(["body","delay_seconds"])"),
        req("not_before without offset", "POST", "/tasks", noop_with(R"("not_before":"2030-01-01T00:00:00")"), 422)
            .at(R"(["body","not_before"])"),
        req("not_before not a time", "POST", "/tasks", noop_with(R"("not_before":"soon")"), 422)
            .at(R"(["body","not_before"])"),
        req("not_before a number", "POST", "/tasks", noop_with(R"("not_before":1893456000)"), 422)
            .at(R"(["body","not_before"])"),
        req("delay_seconds: -1", "POST", "/tasks", noop_with(R"("delay_seconds":-1)"), 422)
            .at(R"(["body","delay_seconds"])"),
        req("delay_seconds: 31536001", "POST", "/tasks", noop_with(R"("delay_seconds":31536001)"), 422)
            .at(R"(["body","delay_seconds"])"),
        req("delay_seconds: a string", "POST", "/tasks", noop_with(R"("delay_seconds":"60")"), 422)
            .at(R"(["body","delay_seconds"])"),

        // Documented types: their payloads are validated, loc pointing into payload.
        req("FILE_WRITE: no path", "POST", "/tasks", typed("FILE_WRITE", R"({"content":"x"})"), 422)
            .at(R"(["body","payload","path"])"),
        req("FILE_WRITE: relative path", "POST", "/tasks", typed("FILE_WRITE", R"({"path":"etc/x","content":"x"})"),
            422)
            .at(R"(["body","payload","path"])"),
        req("FILE_WRITE: path with NUL", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/\u0000x","content":"x"})"), 422)
            .at(R"(["body","payload","path"])"),
        req("FILE_WRITE: path a number", "POST", "/tasks", typed("FILE_WRITE", R"({"path":1,"content":"x"})"), 422)
            .at(R"(["body","payload","path"])"),
        req("FILE_WRITE: no content", "POST", "/tasks", typed("FILE_WRITE", R"({"path":"/etc/x"})"), 422)
            .at(R"(["body","payload","content"])"),
        req("FILE_WRITE: content a number", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/x","content":5})"), 422)
            .at(R"(["body","payload","content"])"),
        req("FILE_WRITE: mode 999", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/x","content":"x","mode":"999"})"), 422)
            .at(R"(["body","payload","mode"])"),
        req("FILE_WRITE: mode 01777", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/x","content":"x","mode":"01777"})"), 422)
            .at(R"(["body","payload","mode"])"),
        req("FILE_WRITE: mode 1777 (sticky)", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/x","content":"x","mode":"1777"})"), 422)
            .at(R"(["body","payload","mode"])"),
        req("FILE_WRITE: mode 12345", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/x","content":"x","mode":"12345"})"), 422)
            .at(R"(["body","payload","mode"])"),
        req("FILE_WRITE: mode abc", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/x","content":"x","mode":"abc"})"), 422)
            .at(R"(["body","payload","mode"])"),
        req("FILE_WRITE: mode a number", "POST", "/tasks",
            typed("FILE_WRITE", R"({"path":"/etc/x","content":"x","mode":644})"), 422)
            .at(R"(["body","payload","mode"])"),
        req("ENV_UPDATE: updates a list", "POST", "/tasks", typed("ENV_UPDATE", R"({"path":"/etc/env","updates":[]})"),
            422)
            .at(R"(["body","payload","updates"])"),
        req("ENV_UPDATE: no updates", "POST", "/tasks", typed("ENV_UPDATE", R"({"path":"/etc/env"})"), 422)
            .at(R"(["body","payload","updates"])"),
        req("ENV_UPDATE: key 1ABC", "POST", "/tasks",
            typed("ENV_UPDATE", R"({"path":"/etc/env","updates":{"1ABC":"v"}})"), 422)
            .at(R"(["body","payload","updates","1ABC"])"),
        req("ENV_UPDATE: key A-B", "POST", "/tasks",
            typed("ENV_UPDATE", R"({"path":"/etc/env","updates":{"A-B":"v"}})"), 422)
            .at(R"(["body","payload","updates","A-B"])"),
        req("ENV_UPDATE: value a number", "POST", "/tasks",
            typed("ENV_UPDATE", R"({"path":"/etc/env","updates":{"KEY":1}})"), 422)
            .at(R"(["body","payload","updates","KEY"])"),
        req("ENV_UPDATE: relative path", "POST", "/tasks", typed("ENV_UPDATE", R"({"path":"env","updates":{}})"), 422)
            .at(R"(["body","payload","path"])"),
        req("DOCKER_RELOAD: relative compose_dir", "POST", "/tasks",
            typed("DOCKER_RELOAD", R"({"compose_dir":"srv/app"})"), 422)
            .at(R"(["body","payload","compose_dir"])"),
        req("DOCKER_RELOAD: no compose_dir", "POST", "/tasks", typed("DOCKER_RELOAD", "{}"), 422)
            .at(R"(["body","payload","compose_dir"])"),
        req("COMPOSITE: no sequence", "POST", "/tasks", typed("COMPOSITE", "{}"), 422)
            .at(R"(["body","payload","sequence"])"),
        req("COMPOSITE: empty sequence", "POST", "/tasks", typed("COMPOSITE", R"({"sequence":[]})"), 422)
            .at(R"(["body","payload","sequence"])"),
        req("COMPOSITE: 101 steps", "POST", "/tasks", typed("COMPOSITE", composite_steps(101)), 422)
            .at(R"(["body","payload","sequence"])"),
        req("COMPOSITE: sequence an object", "POST", "/tasks", typed("COMPOSITE", R"({"sequence":{}})"), 422)
            .at(R"(["body","payload","sequence"])"),
        req("COMPOSITE: step a string", "POST", "/tasks", typed("COMPOSITE", R"({"sequence":["FILE_WRITE"]})"), 422)
            .at(R"(["body","payload","sequence",0])"),
        req("COMPOSITE: step task COMPOSITE", "POST", "/tasks",
            typed("COMPOSITE", R"({"sequence":[{"task":"COMPOSITE","payload":{"sequence":[]}}]})"), 422)
            .at(R"(["body","payload","sequence",0,"task"])"),
        req("COMPOSITE: step task X", "POST", "/tasks",
            typed("COMPOSITE", R"({"sequence":[{"task":"X","payload":{}}]})"), 422)
            .at(R"(["body","payload","sequence",0,"task"])"),
        req("COMPOSITE: step payload invalid", "POST", "/tasks",
            typed("COMPOSITE", R"({"sequence":[{"task":"FILE_WRITE","payload":{"content":"x"}}]})"), 422)
            .at(R"(["body","payload","sequence",0,"payload","path"])"),
        req("COMPOSITE: second step payload invalid", "POST", "/tasks",
            typed("COMPOSITE", R"({"sequence":[{"task":"DOCKER_RELOAD","payload":{"compose_dir":"/a"}},)"
                               R"({"task":"DOCKER_RELOAD","payload":{"compose_dir":"a"}}]})"),
            422)
            .at(R"(["body","payload","sequence",1,"payload","compose_dir"])"),

        // Encoding and numbers: every JSON body (tasks, PATCH result, agents).
        req("utf-8: byte 0xff in a string", "POST", "/tasks", typed("noop", "{\"s\":\"\xff\"}"), 422).root("body"),
        req("utf-8: bad continuation in type", "POST", "/tasks", typed("\xc3\x28", "{}"), 422).root("body"),
        req("utf-8: byte 0xff in an agent name", "POST", "/agents", "{\"name\":\"\xff\"}", 422).root("body"),
        req("surrogate: lone \\ud800", "POST", "/tasks", typed("noop", R"({"s":"\ud800"})"), 422).root("body"),
        req("surrogate: lone \\udc00", "POST", "/tasks", typed("noop", R"({"s":"\udc00"})"), 422).root("body"),
        req("surrogate: in an agent name", "POST", "/agents", R"({"name":"\ud800"})", 422).root("body"),
        req("surrogate: in PATCH result", "PATCH", "/tasks/" + t0, R"({"result":{"s":"\ud800"}})", 422).root("body"),
        req("number: 1e999999 in payload", "POST", "/tasks", typed("noop", R"({"n":1e999999})"), 422)
            .at(R"(["body","payload","n"])"),
        req("number: -1e999999 in payload", "POST", "/tasks", typed("noop", R"({"n":-1e999999})"), 422)
            .at(R"(["body","payload","n"])"),
        req("number: 1e400 in payload", "POST", "/tasks", typed("noop", R"({"n":[1e400]})"), 422)
            .at(R"(["body","payload","n",0])"),
        req("number: 1e999999 in PATCH result", "PATCH", "/tasks/" + t0, R"({"result":{"n":1e999999}})", 422)
            .at(R"(["body","result","n"])"),
        req("number: -1e999999 in PATCH result", "PATCH", "/tasks/" + t0, R"({"result":{"n":-1e999999}})", 422)
            .at(R"(["body","result","n"])"),
        req("depth: 33 levels", "POST", "/tasks", typed("noop", nested_objects(32)), 422).at(R"(["body"])"),
        req("depth: 100000 levels", "POST", "/tasks", typed("noop", std::string(100000, '[')), 422).at(R"(["body"])"),
        req("depth: 33 levels in PATCH result", "PATCH", "/tasks/" + t0, R"({"result":)" + nested_objects(32) + "}",
            422)
            .at(R"(["body"])"),
        req("depth: 33 levels in POST /agents", "POST", "/agents", R"({"name":"n","x":)" + nested_objects(32) + "}",
            422)
            .at(R"(["body"])"),

        // Sizes.
        req("size: 2 MiB body", "POST", "/tasks", big_blob, 413),
        req("size: 32 KiB header", "GET", "/tasks", "", 431).send_header("X-Filler", std::string(32u << 10, 'h')),
        raw("size: 3 MB declared, nothing sent",
            "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n",
            413),
        raw("size: 2 MiB chunked", chunked_2mib, 413),

        // PATCH /tasks/{id}.
        req("patch: status done", "PATCH", "/tasks/" + t0, R"({"status":"done"})", 422).at(R"(["body","status"])"),
        req("patch: status 5", "PATCH", "/tasks/" + t0, R"({"status":5})", 422).at(R"(["body","status"])"),
        req("patch: result a list", "PATCH", "/tasks/" + t0, R"({"result":[1]})", 422).at(R"(["body","result"])"),
        req("patch: result a string", "PATCH", "/tasks/" + t0, R"({"result":"ok"})", 422).at(R"(["body","result"])"),
        req("patch: bad status before missing task", "PATCH", "/tasks/" + missing_id, R"({"status":"done"})", 422)
            .at(R"(["body","status"])"),
        req("patch: missing task", "PATCH", "/tasks/" + missing_id, R"({"status":"failed"})", 404)
            .detail("Task " + missing_id + " not found"),

        // POST /agents.
        req("agent: name a number", "POST", "/agents", R"({"name":5})", 422).at(R"(["body","name"])"),
        req("agent: name null", "POST", "/agents", R"({"name":null})", 422).at(R"(["body","name"])"),
        req("agent: name empty", "POST", "/agents", R"({"name":""})", 422).at(R"(["body","name"])"),
        req("agent: name 201 characters", "POST", "/agents", R"({"name":")" + std::string(201, 'n') + R"("})", 422)
            .at(R"(["body","name"])"),
        req("agent: no name", "POST", "/agents", R"({"tenant_id":null})", 422).at(R"(["body","name"])"),
        req("agent: tenant_id not a uuid", "POST", "/agents", R"({"name":"n","tenant_id":"x"})", 422)
            .at(R"(["body","tenant_id"])"),
        req("agent: tenant_id a number", "POST", "/agents", R"({"name":"n","tenant_id":5})", 422)
            .at(R"(["body","tenant_id"])"),

        // Ids in the path.
        req("path: GET /tasks/not-a-uuid", "GET", "/tasks/not-a-uuid", "", 422).at(R"(["path","task_id"])"),
        req("path: PATCH /tasks/not-a-uuid", "PATCH", "/tasks/not-a-uuid", R"({"status":"failed"})", 422)
            .at(R"(["path","task_id"])"),
        req("path: PATCH /tasks/not-a-uuid as an agent", "PATCH", "/tasks/not-a-uuid", "{}", 422)
            .as(Who::agent_a1)
            .at(R"(["path","task_id"])"),
        req("path: GET /agents/xyz", "GET", "/agents/xyz", "", 422).at(R"(["path","agent_id"])"),
        req("path: DELETE /agents/xyz", "DELETE", "/agents/xyz", "", 422).at(R"(["path","agent_id"])"),
        req("path: GET missing task", "GET", "/tasks/" + missing_id, "", 404)
            .detail("Task " + missing_id + " not found"),
        req("path: GET missing agent", "GET", "/agents/" + missing_id, "", 404).detail_contains(missing_id),

        // The query.
        req("query: tenant_id=x", "GET", "/tasks?tenant_id=x", "", 422).at(R"(["query","tenant_id"])"),
        req("query: agent_id=x", "GET", "/tasks?agent_id=x", "", 422).at(R"(["query","agent_id"])"),
        req("query: status=done", "GET", "/tasks?status=done", "", 422).at(R"(["query","status"])"),
        req("query: priority=10", "GET", "/tasks?priority=10", "", 422).at(R"(["query","priority"])"),
        req("query: priority=high", "GET", "/tasks?priority=high", "", 422).at(R"(["query","priority"])"),
        req("query: limit=0", "GET", "/tasks?limit=0", "", 422).at(R"(["query","limit"])"),
        req("query: limit=1001", "GET", "/tasks?limit=1001", "", 422).at(R"(["query","limit"])"),
        req("query: limit=abc", "GET", "/tasks?limit=abc", "", 422).at(R"(["query","limit"])"),
        req("query: limit=-5", "GET", "/tasks?limit=-5", "", 422).at(R"(["query","limit"])"),
        req("query: limit=99999999999999999999", "GET", "/tasks?limit=99999999999999999999", "", 422)
            .at(R"(["query","limit"])"),
        req("query: cursor garbage", "GET", "/tasks?limit=5&cursor=garbage!", "", 422).at(R"(["query","cursor"])"),
        req("query: cursor forged", "GET", "/tasks?cursor=" + forged_cursor, "", 422).at(R"(["query","cursor"])"),
        req("query: next agent_id=x", "GET", "/tasks/next?agent_id=x", "", 422)
            .as(Who::agent_a1)
            .at(R"(["query","agent_id"])"),
        req("query: next without agent_id", "GET", "/tasks/next", "", 422)
            .as(Who::agent_a1)
            .at(R"(["query","agent_id"])"),

        // Authentication: 401 with WWW-Authenticate: Bearer (checked for every 401).
        req("auth: no token, GET /tasks", "GET", "/tasks", "", 401).as(Who::none),
        req("auth: no token, POST /tasks", "POST", "/tasks", ok_task, 401).as(Who::none),
        req("auth: no token, GET /tasks/next", "GET", "/tasks/next?agent_id=" + a1.id, "", 401).as(Who::none),
        req("auth: no token, GET /tasks/{id}", "GET", "/tasks/" + t0, "", 401).as(Who::none),
        req("auth: no token, DELETE /agents/{id}", "DELETE", "/agents/" + a1.id, "", 401).as(Who::none),
        req("auth: Basic", "GET", "/tasks", "", 401).as(Who::none).send_header("Authorization", "Basic xyz"),
        req("auth: Bearer and nothing", "GET", "/tasks", "", 401).as(Who::none).send_header("Authorization", "Bearer"),
        req("auth: wrong token", "GET", "/tasks", "", 401).as(Who::none).send_header("Authorization", "Bearer wrong"),
        req("auth: wrong token, PATCH", "PATCH", "/tasks/" + t0, R"({"status":"failed"})", 401)
            .as(Who::none)
            .send_header("Authorization", "Bearer " + admin_token + "x"),
        req("auth: before validation", "POST", "/tasks", "{bad", 401).as(Who::none),

        // Permission: 403, decided before validation.
        req("perm: agent POST /tasks", "POST", "/tasks", ok_task, 403).as(Who::agent_a1),
        req("perm: agent GET /tasks", "GET", "/tasks", "", 403).as(Who::agent_a1),
        req("perm: agent GET /tasks before a bad query", "GET", "/tasks?status=done", "", 403).as(Who::agent_a1),
        req("perm: agent POST /tasks before a bad body", "POST", "/tasks", "{bad", 403).as(Who::agent_a1),
        req("perm: agent POST /agents", "POST", "/agents", R"({"name":"x","tenant_id":null})", 403).as(Who::agent_a1),
        req("perm: agent GET /agents", "GET", "/agents", "", 403).as(Who::agent_a1),
        req("perm: agent GET its own /agents/{id}", "GET", "/agents/" + a1.id, "", 403).as(Who::agent_a1),
        req("perm: agent DELETE its own /agents/{id}", "DELETE", "/agents/" + a1.id, "", 403).as(Who::agent_a1),
        req("perm: agent DELETE another agent", "DELETE", "/agents/" + a2.id, "", 403).as(Who::agent_a1),
        req("perm: admin GET /tasks/next", "GET", "/tasks/next?agent_id=" + a1.id, "", 403),
        req("perm: admin GET /tasks/next before a bad query", "GET", "/tasks/next?agent_id=x", "", 403),

        // Agents and tasks that are not theirs.
        req("scope: another agent's agent_id on /tasks/next", "GET", "/tasks/next?agent_id=" + a2.id, "", 401)
            .as(Who::agent_a1),
        req("scope: GET a task another agent holds", "GET", "/tasks/" + tc, "", 404)
            .as(Who::agent_c1)
            .detail("Task " + tc + " not found"),
        req("scope: GET a pending task", "GET", "/tasks/" + t0, "", 404)
            .as(Who::agent_a1)
            .detail("Task " + t0 + " not found"),
        req("scope: GET a missing task as an agent", "GET", "/tasks/" + missing_id, "", 404)
            .as(Who::agent_a1)
            .detail("Task " + missing_id + " not found"),
        req("scope: PATCH another tenant's pending task", "PATCH", "/tasks/" + t0, R"({"status":"completed"})", 404)
            .as(Who::agent_b1)
            .detail("Task " + t0 + " not found"),
        req("scope: PATCH another tenant's running task", "PATCH", "/tasks/" + tc, R"({"status":"completed"})", 404)
            .as(Who::agent_b1)
            .detail("Task " + tc + " not found"),
        req("scope: PATCH a task another agent holds", "PATCH", "/tasks/" + tc, R"({"status":"completed"})", 404)
            .as(Who::agent_c1)
            .detail("Task " + tc + " not found"),
        req("scope: heartbeat a task another agent holds", "PATCH", "/tasks/" + tc, R"({"result":{"x":1}})", 404)
            .as(Who::agent_c1)
            .detail("Task " + tc + " not found"),
        req("scope: PATCH a pending task nobody holds", "PATCH", "/tasks/" + t0, R"({"status":"running"})", 404)
            .as(Who::agent_a1)
            .detail("Task " + t0 + " not found"),
        req("scope: admin moves pending to completed", "PATCH", "/tasks/" + t0, R"({"status":"completed"})", 409),

        // Methods and paths: 405 (before authentication) and 404.
        req("method: PUT /tasks", "PUT", "/tasks", ok_task, 405)
            .as(Who::none)
            .expect_header("allow", "GET")
            .expect_header("allow", "POST"),
        req("method: BREW /tasks", "BREW", "/tasks", "", 405).or_status(400),
        req("method: DELETE /tasks/{id}", "DELETE", "/tasks/" + t0, "", 405)
            .expect_header("allow", "GET")
            .expect_header("allow", "PATCH"),
        req("method: POST /tasks/next", "POST", "/tasks/next", "{}", 405)
            .as(Who::agent_a1)
            .expect_header("allow", "GET"),
        req("method: PATCH /agents/{id}", "PATCH", "/agents/" + a1.id, "{}", 405)
            .expect_header("allow", "GET")
            .expect_header("allow", "DELETE"),
        req("method: DELETE /agents", "DELETE", "/agents", "", 405).expect_header("allow", "POST"),
        req("method: POST /healthz", "POST", "/healthz", "{}", 405).as(Who::none).expect_header("allow", "GET"),
        req("path: /nope", "GET", "/nope", "", 404).detail("Not Found"),
        req("path: /tasks/{id}/extra", "GET", "/tasks/" + t0 + "/extra", "", 404).detail("Not Found"),
        req("path: /", "GET", "/", "", 404).as(Who::none).detail("Not Found"),

        // Malformed HTTP.
        raw("http: GARBAGE", "GARBAGE\r\n\r\n", 400),
        raw("http: Content-Length abc",
            "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}", 400),
        raw("http: Content-Length -1", "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400),
        raw("http: two Content-Lengths",
            "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
        raw("http: bad chunk size",
            "POST /tasks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400),
        raw("http: header without a colon", "GET /healthz HTTP/1.1\r\nHost t\r\n\r\n", 400),
        raw("http: NUL in the target", std::string("GET /ta") + '\0' + "sks HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        raw("http: target without a slash", "GET tasks HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        raw("http: bad percent-encoding", "GET /tasks?tenant_id=%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    };

    BOOST_TEST_MESSAGE(cases.size() << " bad-input cases");
    BOOST_TEST(cases.size() >= 70u);

    auto token_of = [&](Who who) -> std::optional<std::string> {
        switch (who) {
            case Who::admin: return admin_token;
            case Who::none: return std::nullopt;
            case Who::agent_a1: return a1.token;
            case Who::agent_b1: return b1.token;
            case Who::agent_c1: return c1.token;
        }
        return std::nullopt;
    };

    for (std::size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        BOOST_TEST_CONTEXT("case " << i << ": " << c.name) {
            HttpClient client(port);
            client.set_token(token_of(c.who));
            std::optional<HttpResponse> answer;
            try {
                if (c.raw) answer = client.send_raw(*c.raw);
                else answer = client.request(c.method, c.target, c.body, c.headers);
            } catch (const std::exception& e) {
                BOOST_ERROR("no answer: " << e.what());
            }
            if (!answer) {
                BOOST_ERROR("the server closed the connection without an answer");
            } else {
                BOOST_TEST_CONTEXT("answer " << answer->status << " " << answer->body.substr(0, 300)) {
                    check_answer(c, *answer);
                }
            }

            // Still serving after this case.
            bool healthy = false;
            try {
                HttpClient probe(port);
                healthy = probe.get("/healthz").status == 200;
            } catch (const std::exception& e) {
                BOOST_ERROR("/healthz: " << e.what());
            }
            BOOST_TEST_REQUIRE(healthy, "the server stopped serving after this case");
        }
    }

    // Nothing a bad request sent was created, changed or deleted.
    auto t0_after = f.admin.get("/tasks/" + t0);
    BOOST_TEST_REQUIRE(t0_after.status == 200u);
    BOOST_TEST((t0_after.json() == t0_before), t0_after.body);

    auto tenant_list = f.admin.get("/tasks?tenant_id=" + tenant_a);
    BOOST_TEST_REQUIRE(tenant_list.status == 200u);
    BOOST_TEST((tenant_list.json() == json::array({t0_before})), tenant_list.body);

    auto all_tasks = f.admin.get("/tasks");
    BOOST_TEST_REQUIRE(all_tasks.status == 200u);
    BOOST_TEST(all_tasks.json().as_array().size() == 2u);  // t0 and tc

    auto agents = f.admin.get("/agents");
    BOOST_TEST_REQUIRE(agents.status == 200u);
    BOOST_TEST(agents.json().as_array().size() == 5u);  // a1, a2, b1, c1, c2

    HttpClient c2_client = f.client_with_token(c2.token);
    auto held = c2_client.get("/tasks/" + tc);
    BOOST_TEST_REQUIRE(held.status == 200u);
    BOOST_TEST(held.json().at("status").as_string() == "running");
    BOOST_TEST(held.json().at("agent_id").as_string() == c2.id);
    BOOST_TEST(held.json().at("result").is_null());

    // The agents still authenticate, and t0 is still first in tenant A's queue.
    HttpClient c1_client = f.client_with_token(c1.token);
    auto none_left = c1_client.get("/tasks/next?agent_id=" + c1.id);
    BOOST_TEST(none_left.status == 200u);
    BOOST_TEST(none_left.body == "null");

    HttpClient a1_client = f.client_with_token(a1.token);
    auto claimed = a1_client.get("/tasks/next?agent_id=" + a1.id);
    BOOST_TEST_REQUIRE(claimed.status == 200u);
    BOOST_TEST(claimed.json().at("id").as_string() == t0);
    BOOST_TEST((claimed.json().at("payload") == t0_before.at("payload")));
    BOOST_TEST(claimed.json().at("attempts").as_int64() == 1);

    BOOST_TEST(f.server.log().find("unhandled exception") == std::string::npos);
    BOOST_TEST(f.server.stop() == 0);
}

// The depth limit itself is accepted: a body nested exactly --max-json-depth deep (the body
// object is level 1) is a 201, one level more a 422 (the table checks the default).
BOOST_AUTO_TEST_CASE(json_nested_exactly_max_depth_is_accepted) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    auto body_of_depth = [&](int levels) {
        return R"({"tenant_id":")" + tenant + R"(","type":"noop","payload":)" + nested_objects(levels - 1) + "}";
    };

    auto at_limit = f.admin.post("/tasks", body_of_depth(32));
    BOOST_TEST(at_limit.status == 201u, at_limit.body.substr(0, 300));
    auto over = f.admin.post("/tasks", body_of_depth(33));
    BOOST_TEST(over.status == 422u);

    ServerFixture shallow({"--max-json-depth", "4"});
    BOOST_TEST(shallow.admin.post("/tasks", body_of_depth(4)).status == 201u);
    auto too_deep = shallow.admin.post("/tasks", body_of_depth(5));
    BOOST_TEST(too_deep.status == 422u);
    BOOST_TEST((too_deep.json().at("detail").at(0).at("loc") == json::array({"body"})), too_deep.body);
}

BOOST_AUTO_TEST_SUITE_END()
