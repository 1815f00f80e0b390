// http/router: (method, path) -> handler; 404 and 405 by path and method alone.
#include "http/router.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

using taskd::http::Method;
using taskd::http::Request;
using taskd::http::Response;
using taskd::http::Router;

// A handler that is never called; its id tells which route matched.
struct Tag {
    int id;
    boost::asio::awaitable<Response> operator()(Request&) const { co_return Response{}; }
};

// The id of the matched handler, or -1 when none matched.
int matched(const Router::Match& m) {
    if (!m.handler) return -1;
    const Tag* tag = m.handler->target<Tag>();
    return tag ? tag->id : -2;
}

// The API's own table (API.md), registered with the wildcard routes *before* the literal one,
// so that "literal beats wildcard" cannot come from registration order.
Router api_like() {
    Router r;
    r.add(Method::get, "/tasks/{task_id}", Tag{1});
    r.add(Method::patch, "/tasks/{task_id}", Tag{2});
    r.add(Method::get, "/tasks/next", Tag{3});
    r.add(Method::get, "/tasks", Tag{4});
    r.add(Method::post, "/tasks", Tag{5});
    r.add(Method::get, "/tasks/", Tag{6});
    r.add(Method::post, "/tasks/", Tag{7});
    r.add(Method::get, "/agents/{agent_id}", Tag{8});
    r.add(Method::delete_, "/agents/{agent_id}", Tag{9});
    r.add(Method::get, "/healthz", Tag{10});
    r.add(Method::get, "/a/{x}/b/{y}", Tag{11});
    return r;
}

struct Case {
    Method method;
    const char* path;
    int handler;         // -1: none
    unsigned status;     // 0 when a handler matched
    const char* allow;
    std::vector<std::string> params;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(router)

BOOST_AUTO_TEST_CASE(match_table) {
    const Router r = api_like();
    const Case cases[] = {
        {Method::get, "/tasks/next", 3, 0, "", {}},                      // literal beats wildcard
        {Method::get, "/tasks/7b1e2f4c", 1, 0, "", {"7b1e2f4c"}},
        {Method::patch, "/tasks/7b1e2f4c", 2, 0, "", {"7b1e2f4c"}},
        {Method::get, "/tasks/nexT", 1, 0, "", {"nexT"}},                // literals are case-sensitive
        {Method::get, "/tasks", 4, 0, "", {}},
        {Method::post, "/tasks", 5, 0, "", {}},
        {Method::get, "/tasks/", 6, 0, "", {}},                          // distinct registration
        {Method::post, "/tasks/", 7, 0, "", {}},
        {Method::delete_, "/agents/x", 9, 0, "", {"x"}},
        {Method::get, "/a/1/b/2", 11, 0, "", {"1", "2"}},                // params in pattern order
        {Method::delete_, "/tasks/7b1e2f4c", -1, 405, "GET, PATCH", {}},  // every method of the path
        {Method::post, "/tasks/7b1e2f4c", -1, 405, "GET, PATCH", {}},
        {Method::patch, "/tasks/next", -1, 405, "GET", {}},              // /tasks/next is not a task id
        {Method::delete_, "/tasks", -1, 405, "GET, POST", {}},
        {Method::patch, "/tasks/", -1, 405, "GET, POST", {}},
        {Method::post, "/agents/x", -1, 405, "GET, DELETE", {}},
        {Method::head, "/healthz", -1, 405, "GET", {}},
        {Method::other, "/healthz", -1, 405, "GET", {}},
        {Method::get, "/nope", -1, 404, "", {}},
        {Method::get, "/", -1, 404, "", {}},
        {Method::get, "", -1, 404, "", {}},
        {Method::get, "tasks", -1, 404, "", {}},                         // no leading slash
        {Method::get, "/tasks//", -1, 404, "", {}},                      // empty segments
        {Method::get, "/tasks/a/b", -1, 404, "", {}},
        {Method::get, "/healthz/", -1, 404, "", {}},
        {Method::get, "//tasks", -1, 404, "", {}},
        {Method::get, "/a//b/2", -1, 404, "", {}},                       // an empty segment is no wildcard value
        {Method::get, "/a/1/b/", -1, 404, "", {}},
        {Method::get, "/agents/", -1, 404, "", {}},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(taskd::http::to_string(c.method) << " '" << c.path << "'") {
            const auto m = r.match(c.method, c.path);
            BOOST_TEST(matched(m) == c.handler);
            BOOST_TEST(m.status == c.status);
            BOOST_TEST(m.allow == c.allow);
            BOOST_TEST(m.params == c.params, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(literal_wins_whatever_the_registration_order) {
    Router literal_first;
    literal_first.add(Method::get, "/tasks/next", Tag{1});
    literal_first.add(Method::get, "/tasks/{task_id}", Tag{2});
    Router wildcard_first;
    wildcard_first.add(Method::get, "/tasks/{task_id}", Tag{2});
    wildcard_first.add(Method::get, "/tasks/next", Tag{1});
    for (const Router* r : {&literal_first, &wildcard_first}) {
        BOOST_TEST(matched(r->match(Method::get, "/tasks/next")) == 1);
        BOOST_TEST(matched(r->match(Method::get, "/tasks/other")) == 2);
        BOOST_TEST(r->match(Method::get, "/tasks/next").params.empty());
    }
}

BOOST_AUTO_TEST_CASE(trailing_slash_is_its_own_path) {
    Router r;
    r.add(Method::get, "/tasks", Tag{1});
    BOOST_TEST(matched(r.match(Method::get, "/tasks")) == 1);
    BOOST_TEST(r.match(Method::get, "/tasks/").status == 404u);
    Router s;
    s.add(Method::get, "/tasks/", Tag{2});
    BOOST_TEST(matched(s.match(Method::get, "/tasks/")) == 2);
    BOOST_TEST(s.match(Method::get, "/tasks").status == 404u);
}

BOOST_AUTO_TEST_CASE(empty_segment_never_matches_a_wildcard) {
    Router r;
    r.add(Method::get, "/tasks/{task_id}", Tag{1});
    r.add(Method::get, "/tasks/{task_id}/{part}", Tag{2});
    BOOST_TEST(r.match(Method::get, "/tasks/").status == 404u);
    BOOST_TEST(r.match(Method::get, "/tasks//").status == 404u);
    BOOST_TEST(r.match(Method::get, "/tasks//x").status == 404u);
    BOOST_TEST(r.match(Method::get, "/tasks/x/").status == 404u);
    const auto m = r.match(Method::get, "/tasks/x/y");
    BOOST_TEST(matched(m) == 2);
    BOOST_TEST(m.params == (std::vector<std::string>{"x", "y"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(params_are_taken_verbatim) {
    Router r;
    r.add(Method::get, "/agents/{agent_id}", Tag{1});
    const auto m = r.match(Method::get, "/agents/a b%2F{c}");
    BOOST_TEST(matched(m) == 1);
    BOOST_TEST(m.params == (std::vector<std::string>{"a b%2F{c}"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_router_answers_404) {
    const Router r;
    const auto m = r.match(Method::get, "/tasks");
    BOOST_TEST(!m.handler);
    BOOST_TEST(m.status == 404u);
    BOOST_TEST(m.allow.empty());
}

BOOST_AUTO_TEST_SUITE_END()
