// GET /ui and its files (README "Console"): served from the binary with their Content-Type and
// the strict security headers; 404 with --ui=false.
#include "fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace taskd::test;

BOOST_AUTO_TEST_SUITE(ui)

BOOST_AUTO_TEST_CASE(files_and_security_headers) {
    ServerFixture f;
    HttpClient c = f.client();
    for (const auto& [target, type] : std::vector<std::pair<std::string, std::string>>{
             {"/ui", "text/html; charset=utf-8"},
             {"/ui/", "text/html; charset=utf-8"},
             {"/ui/index.html", "text/html; charset=utf-8"},
             {"/ui/app.js", "text/javascript; charset=utf-8"},
             {"/ui/app.css", "text/css; charset=utf-8"}}) {
        BOOST_TEST_CONTEXT(target) {
            const auto r = c.get(target);
            BOOST_TEST(r.status == 200u);
            BOOST_TEST(r.header("content-type") == type);
            BOOST_TEST(!r.body.empty());
            BOOST_TEST(r.header("content-security-policy") ==
                       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
            BOOST_TEST(r.header("x-content-type-options") == "nosniff");
            BOOST_TEST(r.header("referrer-policy") == "no-referrer");
        }
    }
    BOOST_TEST(c.get("/ui").body == c.get("/ui/index.html").body);
    const auto missing = c.get("/ui/nothing.js");
    BOOST_TEST(missing.status == 404u);
    BOOST_TEST(missing.header("content-security-policy").find("default-src 'self'") == 0u);
    BOOST_TEST(c.get("/ui/a/b").status == 404u);
    BOOST_TEST(c.request("POST", "/ui").status == 405u);
}

BOOST_AUTO_TEST_CASE(off_with_ui_false) {
    ServerFixture f({"--ui=false"});
    HttpClient c = f.client();
    for (const char* target : {"/ui", "/ui/", "/ui/app.js"}) {
        const auto r = c.get(target);
        BOOST_TEST(r.status == 404u, target);
        BOOST_TEST(r.body == R"({"detail":"Not Found"})", target);
    }
    BOOST_TEST(f.admin.get("/stats").status == 200u);  // the API stays
}

BOOST_AUTO_TEST_SUITE_END()
