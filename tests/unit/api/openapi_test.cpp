// The embedded OpenAPI document (lib/api/openapi.json) against the router taskd builds: every
// route is documented and every documented operation is served, each with what /docs needs.
#include "api/openapi_document.hpp"
#include "api_operations.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <string_view>

namespace {

namespace json = boost::json;
using namespace taskd;

json::value document() { return json::parse(api::openapi_json()); }

std::string joined(const std::set<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += "\n  " + n;
    return out;
}

bool is_method(std::string_view key) {
    for (const char* m : {"get", "put", "post", "delete", "options", "head", "patch", "trace"})
        if (key == m) return true;
    return false;
}

// A parameter object, its "#/components/parameters/X" reference followed.
const json::object& parameter(const json::value& doc, const json::value& p) {
    if (const auto* ref = p.as_object().if_contains("$ref")) {
        const std::string name(ref->as_string());
        const std::string prefix = "#/components/parameters/";
        BOOST_TEST_REQUIRE(name.starts_with(prefix), name);
        return doc.at("components").at("parameters").at(name.substr(prefix.size())).as_object();
    }
    return p.as_object();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openapi_document)

BOOST_AUTO_TEST_CASE(is_openapi_3_1) {
    const auto doc = document();
    BOOST_TEST(std::string(doc.at("openapi").as_string()).starts_with("3.1."));
    BOOST_TEST(doc.at("info").at("version").as_string() == TASKD_VERSION);
}

BOOST_AUTO_TEST_CASE(documents_exactly_the_routes_the_router_serves) {
    const auto served = test::router_operations();
    const auto documented = test::document_operations(document());
    std::set<std::string> undocumented, unserved;
    std::set_difference(served.begin(), served.end(), documented.begin(), documented.end(),
                        std::inserter(undocumented, undocumented.end()));
    std::set_difference(documented.begin(), documented.end(), served.begin(), served.end(),
                        std::inserter(unserved, unserved.end()));
    BOOST_TEST(undocumented.empty(), "served but not in lib/api/openapi.json:" << joined(undocumented));
    BOOST_TEST(unserved.empty(), "in lib/api/openapi.json but not served:" << joined(unserved));
    BOOST_TEST(served.size() == 22u);  // the count, so that neither side can be empty by mistake
}

BOOST_AUTO_TEST_CASE(every_operation_has_an_id_summary_security_and_its_path_parameters) {
    const auto doc = document();
    std::set<std::string> ids;
    const std::regex wildcard(R"(\{([^}]+)\})");
    for (const auto& [path, item_value] : doc.at("paths").as_object()) {
        const auto& item = item_value.as_object();
        for (const auto& [method, op_value] : item) {
            if (!is_method(method)) continue;
            const std::string where = std::string(method) + " " + std::string(path);
            const auto& op = op_value.as_object();
            BOOST_TEST_REQUIRE(op.contains("operationId"), where);
            BOOST_TEST(ids.insert(std::string(op.at("operationId").as_string())).second, where << ": operationId twice");
            BOOST_TEST(op.contains("summary"), where);
            // Stated on each operation, never inherited: an open endpoint says [] on purpose.
            BOOST_TEST(op.contains("security"), where);
            BOOST_TEST(!op.at("responses").as_object().empty(), where);

            std::set<std::string> declared;
            for (const auto* params : {item.if_contains("parameters"), op.if_contains("parameters")})
                if (params)
                    for (const auto& p : params->as_array())
                        if (parameter(doc, p).at("in") == "path")
                            declared.insert(std::string(parameter(doc, p).at("name").as_string()));
            std::set<std::string> in_template;
            const std::string p(path);
            for (auto it = std::sregex_iterator(p.begin(), p.end(), wildcard); it != std::sregex_iterator(); ++it)
                in_template.insert((*it)[1].str());
            BOOST_TEST((declared == in_template), where << ": path parameters" << joined(declared) << "\nvs template"
                                                        << joined(in_template));
        }
    }
}

BOOST_AUTO_TEST_CASE(the_docs_page_holds_the_document_and_loads_nothing) {
    const std::string page(api::docs_html());
    BOOST_TEST(page.starts_with("<!doctype html>"));
    BOOST_TEST(page.find("@OPENAPI_DOCUMENT@") == std::string::npos);
    BOOST_TEST(page.find(R"(<script type="application/json" id="openapi-document">{)") != std::string::npos);
    // No external asset: no element that fetches (script src, link, img, iframe), no CSS url().
    for (const char* fetching : {"<script src", " src=", "<link", "<img", "<iframe", "url(", "@import"})
        BOOST_TEST(page.find(fetching) == std::string::npos, fetching);
}

BOOST_AUTO_TEST_SUITE_END()
