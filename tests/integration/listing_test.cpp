// API.md "GET /tasks" and the agents listing: both paths served, newest first, filters and their
// combinations, limit/cursor pagination through Link headers (also among equal created_at),
// cursors reused with other filters, the streamed unlimited listing.
#include "fixture.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace taskd::test;
namespace json = boost::json;

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::string to_query(const Query& q) {
    std::string out;
    for (const auto& [name, value] : q) out += (out.empty() ? "" : "&") + name + "=" + value;
    return out;
}

std::string describe(const Query& q) { return q.empty() ? std::string("(no filter)") : to_query(q); }

std::string id_of(const json::value& v) { return std::string(v.at("id").as_string()); }

std::vector<std::string> ids_of(const json::array& tasks) {
    std::vector<std::string> out;
    for (const auto& t : tasks) out.push_back(id_of(t));
    return out;
}

json::array list(HttpClient& client, const std::string& target) {
    auto r = client.get(target);
    BOOST_TEST_REQUIRE(r.status == 200u, target << ": " << r.status << " " << r.body);
    auto v = r.json();
    BOOST_TEST_REQUIRE(v.is_array());
    return v.as_array();
}

// The URL of `Link: <URL>; rel="next"`, or nullopt without a Link header.
std::optional<std::string> next_link(const HttpResponse& r) {
    const std::string link = r.header("link");
    if (link.empty()) return std::nullopt;
    static const std::regex kNext(R"re(<([^>]*)>; rel="next")re");
    std::smatch m;
    BOOST_TEST_REQUIRE(std::regex_match(link, m, kNext), "malformed Link header: " << link);
    return m[1].str();
}

// Query parameters of a relative URL, percent-decoded.
Query params_of(const std::string& url) {
    auto parsed = boost::urls::parse_relative_ref(url);
    BOOST_TEST_REQUIRE(parsed.has_value(), "Link URL does not parse: " << url);
    Query out;
    for (const auto& p : parsed->params()) out.emplace_back(p.key, p.value);
    return out;
}

// Follows Link headers from `/tasks?<filters>&limit=<limit>` until a page has none; checks every
// page and every Link on the way, and returns the concatenation.
json::array paginate(HttpClient& client, const std::string& path, const Query& filters, std::size_t limit,
                     std::size_t expected_total) {
    Query first = filters;
    first.emplace_back("limit", std::to_string(limit));
    std::string target = path + "?" + to_query(first);
    json::array all;
    for (std::size_t page = 0;; ++page) {
        BOOST_TEST_REQUIRE(page <= expected_total / limit + 1, "more pages than tasks");
        auto r = client.get(target);
        BOOST_TEST_REQUIRE(r.status == 200u, target << ": " << r.status << " " << r.body);
        const json::array items = r.json().as_array();
        BOOST_TEST(items.size() <= limit);
        for (const auto& t : items) all.push_back(t);
        const auto link = next_link(r);
        if (!link) break;
        BOOST_TEST_CONTEXT("page " << page << " Link " << *link) {
            BOOST_TEST(items.size() == limit);
            BOOST_TEST(link->rfind("/tasks?", 0) == 0u);
            const Query params = params_of(*link);
            for (const auto& filter : first)
                BOOST_TEST_CONTEXT("repeats " << filter.first) {
                    BOOST_TEST((std::find(params.begin(), params.end(), filter) != params.end()));
                }
            const auto cursors = std::count_if(params.begin(), params.end(), [](const auto& p) { return p.first == "cursor"; });
            BOOST_TEST(cursors == 1);
        }
        target = *link;
    }
    return all;
}

bool no_duplicates(const std::vector<std::string>& ids) { return std::set(ids.begin(), ids.end()).size() == ids.size(); }

// A mix of tenants, types, statuses and holders to filter.
struct Dataset {
    std::string tenant_a, tenant_b;
    AgentCredentials a1, a2, shared;
    std::size_t count = 0;
    std::string a1_running_type;  // the type of the task a1 holds
};

Dataset make_dataset(ServerFixture& f) {
    Dataset d{new_uuid(), new_uuid(), {}, {}, {}, 0, {}};
    d.a1 = f.register_agent(d.tenant_a, "a1");
    d.a2 = f.register_agent(d.tenant_a, "a2");
    d.shared = f.register_agent({}, "shared");
    const char* types[] = {"alpha", "beta", "gamma"};
    for (int i = 0; i < 24; ++i) f.create_task(i % 3 == 2 ? d.tenant_b : d.tenant_a, types[i % 3 == 2 ? 1 : i % 2]);
    d.count = 24;
    const auto claim = [&f](const AgentCredentials& agent) {
        HttpClient c = f.client_with_token(agent.token);
        auto r = c.get("/tasks/next?agent_id=" + agent.id);
        BOOST_TEST_REQUIRE(r.status == 200u);
        return std::pair{std::move(c), id_of(r.json())};
    };
    for (const auto& [agent, finish] : {std::pair{d.a1, "completed"}, std::pair{d.a1, "failed"}, std::pair{d.a1, ""},
                                        std::pair{d.a2, "completed"}, std::pair{d.a2, ""},
                                        std::pair{d.shared, "completed"}, std::pair{d.shared, "failed"},
                                        std::pair{d.shared, ""}}) {
        auto [client, id] = claim(agent);
        if (agent.id == d.a1.id && !*finish)
            d.a1_running_type = std::string(f.admin.get("/tasks/" + id).json().at("type").as_string());
        if (*finish) BOOST_TEST_REQUIRE(client.patch("/tasks/" + id, R"({"status":")" + std::string(finish) + "\"}").status == 200u);
    }
    // A cancelled task: failed without an agent.
    auto pending = list(f.admin, "/tasks?status=pending&tenant_id=" + d.tenant_b);
    BOOST_TEST_REQUIRE(!pending.empty());
    BOOST_TEST_REQUIRE(f.admin.patch("/tasks/" + id_of(pending.back()), R"({"status":"failed"})").status == 200u);
    return d;
}

std::vector<Query> filter_table(const Dataset& d) {
    return {
        {},
        {{"tenant_id", d.tenant_a}},
        {{"tenant_id", d.tenant_b}},
        {{"status", "pending"}},
        {{"status", "running"}},
        {{"status", "completed"}},
        {{"status", "failed"}},
        {{"agent_id", d.a1.id}},
        {{"agent_id", d.shared.id}},
        {{"type", "beta"}},
        {{"tenant_id", d.tenant_a}, {"status", "pending"}},
        {{"tenant_id", d.tenant_b}, {"status", "failed"}},
        {{"tenant_id", d.tenant_a}, {"type", "alpha"}},
        {{"agent_id", d.a1.id}, {"status", "completed"}},
        {{"status", "pending"}, {"type", "beta"}},
        {{"tenant_id", d.tenant_a}, {"agent_id", d.shared.id}},
        {{"tenant_id", d.tenant_a}, {"status", "running"}, {"type", d.a1_running_type}, {"agent_id", d.a1.id}},
    };
}

// The tasks of `all` (an unfiltered listing) that `filters` select, in the same order.
json::array select(const json::array& all, const Query& filters) {
    json::array out;
    for (const auto& t : all) {
        bool keep = true;
        for (const auto& [name, value] : filters) {
            const json::value& field = t.at(name);
            keep = keep && field.is_string() && field.get_string() == value;
        }
        if (keep) out.push_back(t);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(listing)

BOOST_AUTO_TEST_CASE(tasks_and_agents_are_served_with_and_without_trailing_slash) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    for (const char* path : {"/tasks", "/tasks/", "/tasks", "/tasks/"}) {
        BOOST_TEST_CONTEXT("POST " << path) {
            auto r = f.admin.post(path, R"({"tenant_id":")" + tenant + R"(","type":"noop"})");
            BOOST_TEST(r.status == 201u);
        }
    }
    f.create_task(new_uuid());
    for (const std::string& query :
         {std::string(), "?tenant_id=" + tenant, std::string("?status=pending&type=noop"), std::string("?limit=2")}) {
        BOOST_TEST_CONTEXT("GET /tasks" << query << " and /tasks/" << query) {
            auto plain = f.admin.get("/tasks" + query);
            auto slash = f.admin.get("/tasks/" + query);
            BOOST_TEST(plain.status == 200u);
            BOOST_TEST(slash.status == 200u);
            BOOST_TEST(plain.json() == slash.json());
            BOOST_TEST(!plain.json().as_array().empty());
        }
    }
    for (const char* path : {"/agents", "/agents/"}) {
        BOOST_TEST_CONTEXT("POST " << path) {
            BOOST_TEST(f.admin.post(path, R"({"name":"edge","tenant_id":null})").status == 201u);
        }
    }
    auto plain = f.admin.get("/agents");
    auto slash = f.admin.get("/agents/");
    BOOST_TEST(plain.status == 200u);
    BOOST_TEST(slash.status == 200u);
    BOOST_TEST(plain.json() == slash.json());
    BOOST_TEST(plain.json().as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(tasks_are_listed_newest_first) {
    ServerFixture f;
    std::vector<std::string> created;
    for (int i = 0; i < 8; ++i) created.push_back(id_of(f.create_task(new_uuid())));
    std::reverse(created.begin(), created.end());
    const json::array all = list(f.admin, "/tasks");
    BOOST_TEST(ids_of(all) == created, boost::test_tools::per_element());
    for (std::size_t i = 1; i < all.size(); ++i)
        BOOST_TEST(all[i - 1].at("created_at").as_string() >= all[i].at("created_at").as_string());
}

BOOST_AUTO_TEST_CASE(filters_and_their_combinations) {
    ServerFixture f;
    const Dataset d = make_dataset(f);
    const json::array all = list(f.admin, "/tasks");
    BOOST_TEST_REQUIRE(all.size() == d.count);
    for (const Query& filters : filter_table(d)) {
        if (filters.empty()) continue;
        BOOST_TEST_CONTEXT(describe(filters)) {
            const json::array expected = select(all, filters);
            BOOST_TEST(expected.size() < all.size());  // the filter has something to exclude
            BOOST_TEST(list(f.admin, "/tasks?" + to_query(filters)) == expected);
        }
    }
    BOOST_TEST_CONTEXT("an agent that holds nothing") {
        BOOST_TEST(list(f.admin, "/tasks?agent_id=" + new_uuid()).empty());
    }
    BOOST_TEST_CONTEXT("an invalid status") {
        auto r = f.admin.get("/tasks?status=done");
        BOOST_TEST(r.status == 422u);
        BOOST_TEST(r.json().at("detail").at(0).at("loc") == json::parse(R"(["query","status"])"));
    }
}

BOOST_AUTO_TEST_CASE(pagination_follows_link_headers_to_the_unlimited_listing) {
    ServerFixture f;
    const Dataset d = make_dataset(f);
    for (const Query& filters : filter_table(d)) {
        const std::string query = to_query(filters);
        const json::array unlimited = list(f.admin, "/tasks?" + query);
        BOOST_TEST_REQUIRE(!unlimited.empty(), describe(filters));
        for (const std::size_t limit : {std::size_t{1}, std::size_t{2}, std::size_t{5}, unlimited.size(),
                                        unlimited.size() + 1, std::size_t{1000}}) {
            BOOST_TEST_CONTEXT(describe(filters) << " limit=" << limit) {
                const json::array paged = paginate(f.admin, "/tasks", filters, limit, unlimited.size());
                BOOST_TEST(no_duplicates(ids_of(paged)));
                BOOST_TEST(ids_of(paged) == ids_of(unlimited), boost::test_tools::per_element());
                BOOST_TEST(paged == unlimited);
            }
        }
    }
    BOOST_TEST_CONTEXT("/tasks/ paginates too") {
        const json::array paged = paginate(f.admin, "/tasks/", {}, 7, d.count);
        BOOST_TEST(paged == list(f.admin, "/tasks"));
    }
}

BOOST_AUTO_TEST_CASE(equal_created_at_is_ordered_by_id_without_duplicates_or_gaps) {
    ServerFixture f({"--debug-frozen-clock"});
    const std::string tenant = new_uuid();
    for (int i = 0; i < 25; ++i) f.create_task(i % 5 == 0 ? new_uuid() : tenant);
    const json::array all = list(f.admin, "/tasks");
    BOOST_TEST_REQUIRE(all.size() == 25u);
    std::set<std::string> stamps;
    for (const auto& t : all) stamps.insert(std::string(t.at("created_at").as_string()));
    BOOST_TEST_REQUIRE(stamps.size() == 1u, "the frozen clock gave different created_at");
    // Ids are lower-case hex: their text order is their byte order.
    const std::vector<std::string> ids = ids_of(all);
    BOOST_TEST(std::is_sorted(ids.rbegin(), ids.rend()));
    BOOST_TEST(no_duplicates(ids));

    for (const Query& filters : {Query{}, Query{{"tenant_id", tenant}}, Query{{"status", "pending"}}}) {
        BOOST_TEST_CONTEXT(describe(filters) << " limit=4") {
            const json::array expected = select(all, filters);
            const json::array paged = paginate(f.admin, "/tasks", filters, 4, expected.size());
            BOOST_TEST(no_duplicates(ids_of(paged)));
            BOOST_TEST(ids_of(paged) == ids_of(expected), boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(cursor_reused_with_other_filters) {
    ServerFixture f;
    const Dataset d = make_dataset(f);
    const json::array all = list(f.admin, "/tasks");
    auto first = f.admin.get("/tasks?tenant_id=" + d.tenant_a + "&limit=3");
    BOOST_TEST_REQUIRE(first.status == 200u);
    const auto link = next_link(first);
    BOOST_TEST_REQUIRE(link.has_value());
    std::string cursor;
    for (const auto& [name, value] : params_of(*link))
        if (name == "cursor") cursor = value;
    // The cursor stands at the page's last task: other filters answer what they select after it.
    const std::string last = id_of(first.json().as_array().back());
    const auto at = std::find_if(all.begin(), all.end(), [&](const json::value& t) { return id_of(t) == last; });
    BOOST_TEST_REQUIRE((at != all.end()));
    const json::array rest(at + 1, all.end());

    for (const Query& filters : {Query{}, Query{{"status", "pending"}}, Query{{"tenant_id", d.tenant_b}},
                                 Query{{"type", "beta"}}}) {
        BOOST_TEST_CONTEXT(describe(filters) << " after the cursor") {
            Query q = filters;
            q.emplace_back("cursor", cursor);
            BOOST_TEST(list(f.admin, "/tasks?" + to_query(q)) == select(rest, filters));
        }
    }
    BOOST_TEST_CONTEXT("with another limit") {
        const json::array page = list(f.admin, "/tasks?status=pending&limit=2&cursor=" + cursor);
        const json::array expected = select(rest, {{"status", "pending"}});
        BOOST_TEST_REQUIRE(expected.size() >= 2u);
        BOOST_TEST(page == json::array(expected.begin(), expected.begin() + 2));
    }
    std::string tampered = cursor;
    tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
    for (const std::string& bad : {std::string("not-a-cursor"), tampered, std::string("")}) {
        BOOST_TEST_CONTEXT("cursor '" << bad << "'") {
            auto r = f.admin.get("/tasks?cursor=" + bad);
            BOOST_TEST(r.status == 422u);
            BOOST_TEST(r.json().at("detail").at(0).at("loc") == json::parse(R"(["query","cursor"])"));
        }
    }
}

BOOST_AUTO_TEST_CASE(unlimited_listing_of_thousands_is_streamed_in_chunks) {
    ServerFixture f;
    const std::string tenant = new_uuid();
    std::vector<std::string> created;
    for (int i = 0; i < 3000; ++i) created.push_back(id_of(f.create_task(i % 3 == 0 ? tenant : new_uuid())));
    std::reverse(created.begin(), created.end());
    auto r = f.admin.get("/tasks");
    BOOST_TEST_REQUIRE(r.status == 200u);
    BOOST_TEST(r.header("transfer-encoding") == "chunked");
    const json::value body = r.json();
    BOOST_TEST_REQUIRE(body.is_array());
    BOOST_TEST(ids_of(body.as_array()) == created);

    auto filtered = f.admin.get("/tasks?tenant_id=" + tenant);
    BOOST_TEST_REQUIRE(filtered.status == 200u);
    BOOST_TEST(filtered.header("transfer-encoding") == "chunked");
    BOOST_TEST(filtered.json().as_array().size() == 1000u);
}

BOOST_AUTO_TEST_CASE(agents_are_listed_newest_first) {
    ServerFixture f;
    std::vector<std::string> registered;
    for (int i = 0; i < 5; ++i)
        registered.push_back(f.register_agent(i % 2 ? new_uuid() : std::string{}, "agent-" + std::to_string(i)).id);
    std::reverse(registered.begin(), registered.end());
    auto r = f.admin.get("/agents");
    BOOST_TEST_REQUIRE(r.status == 200u);
    const json::array agents = r.json().as_array();
    BOOST_TEST(ids_of(agents) == registered, boost::test_tools::per_element());
    for (std::size_t i = 0; i < agents.size(); ++i) {
        BOOST_TEST_CONTEXT("agent " << i) {
            BOOST_TEST(!agents[i].as_object().contains("token"));
            BOOST_TEST(agents[i].at("last_seen_at").is_null());
            if (i > 0) BOOST_TEST(agents[i - 1].at("created_at").as_string() >= agents[i].at("created_at").as_string());
        }
    }
}

BOOST_AUTO_TEST_CASE(missing_agent_is_404_with_a_detail) {
    ServerFixture f;
    const std::string missing = new_uuid();
    for (const char* method : {"GET", "DELETE"}) {
        BOOST_TEST_CONTEXT(method << " /agents/" << missing) {
            auto r = f.admin.request(method, "/agents/" + missing);
            BOOST_TEST(r.status == 404u);
            const json::value detail = r.json().at("detail");
            BOOST_TEST(detail.is_string());
            BOOST_TEST(!detail.as_string().empty());
        }
    }
    auto bad = f.admin.get("/agents/not-a-uuid");
    BOOST_TEST(bad.status == 422u);
    BOOST_TEST(bad.json().at("detail").at(0).at("loc") == json::parse(R"(["path","agent_id"])"));
}

// A query parameter is whatever bytes the client percent-encoded: a type no task can have (not
// UTF-8, or U+0000) matches nothing; it is not an error of the store (PostgreSQL refuses such text).
BOOST_AUTO_TEST_CASE(a_type_filter_no_task_can_match_finds_nothing) {
    ServerFixture f;
    f.create_task(new_uuid());
    for (const char* type : {"%FF%FE", "%C0%80", "%ED%A0%80", "%00", "a%00b"}) {
        BOOST_TEST_CONTEXT(type) {
            const auto limited = f.admin.get(std::string("/tasks?limit=10&type=") + type);
            BOOST_TEST(limited.status == 200u, limited.body);
            BOOST_TEST(limited.body == "[]");
            const auto streamed = f.admin.get(std::string("/tasks?type=") + type);
            BOOST_TEST(streamed.status == 200u, streamed.body);
            BOOST_TEST(streamed.body == "[]");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
