// model/payload: validation of the four documented task types (API.md, "Tasks").
#include "model/payload.hpp"
#include "loc_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace {

using taskd::test::loc_text;
namespace json = boost::json;
using taskd::model::FieldErrors;
using taskd::model::Loc;

FieldErrors validate(std::string_view type, std::string_view payload_json) {
    FieldErrors out;
    const json::value v = json::parse(payload_json);
    taskd::model::validate_payload(type, v.as_object(), Loc{"body", "payload"}, out);
    return out;
}

struct Bad {
    const char* type;
    const char* payload;
    const char* loc;         // of the one error expected
    const char* error_type;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(payload)

BOOST_AUTO_TEST_CASE(valid_payloads_give_no_error) {
    const std::pair<const char*, const char*> valid[] = {
        {"FILE_WRITE", R"({"path":"/opt/app/config.json","content":"{}"})"},
        {"FILE_WRITE", R"({"path":"/a","content":"","mode":"0644"})"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"644"})"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"0777"})"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"000"})"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":null})"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","owner":"root","extra":[1,2]})"},  // unknown keys ignored
        {"ENV_UPDATE", R"({"path":"/etc/env","updates":{"A":"1","_b9":"","Z_Z":"x y"}})"},
        {"ENV_UPDATE", R"({"path":"/etc/env","updates":{}})"},  // empty updates is valid
        {"ENV_UPDATE", R"({"path":"/etc/env","updates":{"K":"v"},"note":1})"},
        {"DOCKER_RELOAD", R"({"compose_dir":"/srv/app"})"},
        {"DOCKER_RELOAD", R"({"compose_dir":"/","x":null})"},
        {"COMPOSITE", R"({"sequence":[{"task":"DOCKER_RELOAD","payload":{"compose_dir":"/srv"}}]})"},
        {"COMPOSITE", R"({"sequence":[{"task":"FILE_WRITE","payload":{"path":"/a","content":"c"}},
                                     {"task":"ENV_UPDATE","payload":{"path":"/e","updates":{"K":"v"}}, "why":"x"},
                                     {"task":"DOCKER_RELOAD","payload":{"compose_dir":"/srv"}}]})"},
        // Legacy and unknown types accept any object payload.
        {"provision_server", R"({})"},
        {"provision_server", R"({"path":5,"anything":[{"deep":{"x":null}}]})"},
        {"configure_keycloak", R"({"sequence":"not a list"})"},
        {"file_write", R"({})"},  // type names are case-sensitive: not the documented FILE_WRITE
    };
    for (const auto& [type, payload] : valid) {
        BOOST_TEST_CONTEXT(type << " " << payload) {
            const FieldErrors errors = validate(type, payload);
            BOOST_TEST(errors.empty());
            for (const auto& e : errors) BOOST_TEST_MESSAGE(loc_text(e.loc) << " " << e.type);
        }
    }
}

BOOST_AUTO_TEST_CASE(each_violation_has_its_loc_and_type) {
    const Bad bad[] = {
        // FILE_WRITE
        {"FILE_WRITE", R"({"content":"x"})", R"(["body","payload","path"])", "value_error.missing"},
        {"FILE_WRITE", R"({"path":1,"content":"x"})", R"(["body","payload","path"])", "type_error.str"},
        {"FILE_WRITE", R"({"path":null,"content":"x"})", R"(["body","payload","path"])", "type_error.str"},
        {"FILE_WRITE", R"({"path":"rel/a","content":"x"})", R"(["body","payload","path"])",
         "value_error.path.not_absolute"},
        {"FILE_WRITE", R"({"path":"","content":"x"})", R"(["body","payload","path"])", "value_error.path.not_absolute"},
        {"FILE_WRITE", R"({"path":"/a\u0000b","content":"x"})", R"(["body","payload","path"])", "value_error.path.nul"},
        {"FILE_WRITE", R"({"path":"/a"})", R"(["body","payload","content"])", "value_error.missing"},
        {"FILE_WRITE", R"({"path":"/a","content":{}})", R"(["body","payload","content"])", "type_error.str"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":644})", R"(["body","payload","mode"])", "type_error.str"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"1777"})", R"(["body","payload","mode"])",
         "value_error.mode"},  // sticky bit
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"4755"})", R"(["body","payload","mode"])",
         "value_error.mode"},  // setuid
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"0800"})", R"(["body","payload","mode"])",
         "value_error.mode"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"64"})", R"(["body","payload","mode"])", "value_error.mode"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"00644"})", R"(["body","payload","mode"])",
         "value_error.mode"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":"rw-"})", R"(["body","payload","mode"])",
         "value_error.mode"},
        {"FILE_WRITE", R"({"path":"/a","content":"x","mode":""})", R"(["body","payload","mode"])", "value_error.mode"},
        // ENV_UPDATE
        {"ENV_UPDATE", R"({"updates":{}})", R"(["body","payload","path"])", "value_error.missing"},
        {"ENV_UPDATE", R"({"path":"env","updates":{}})", R"(["body","payload","path"])",
         "value_error.path.not_absolute"},
        {"ENV_UPDATE", R"({"path":"/e"})", R"(["body","payload","updates"])", "value_error.missing"},
        {"ENV_UPDATE", R"({"path":"/e","updates":[]})", R"(["body","payload","updates"])", "type_error.dict"},
        {"ENV_UPDATE", R"({"path":"/e","updates":null})", R"(["body","payload","updates"])", "type_error.dict"},
        {"ENV_UPDATE", R"({"path":"/e","updates":{"1A":"x"}})", R"(["body","payload","updates","1A"])",
         "value_error.env_key"},
        {"ENV_UPDATE", R"({"path":"/e","updates":{"A-B":"x"}})", R"(["body","payload","updates","A-B"])",
         "value_error.env_key"},
        {"ENV_UPDATE", R"({"path":"/e","updates":{"":"x"}})", R"(["body","payload","updates",""])",
         "value_error.env_key"},
        {"ENV_UPDATE", R"({"path":"/e","updates":{"A":1}})", R"(["body","payload","updates","A"])", "type_error.str"},
        {"ENV_UPDATE", R"({"path":"/e","updates":{"A":null}})", R"(["body","payload","updates","A"])",
         "type_error.str"},
        {"ENV_UPDATE", R"({"path":"/e","updates":{"A":"a\u0000"}})", R"(["body","payload","updates","A"])",
         "value_error.env_value"},
        // DOCKER_RELOAD
        {"DOCKER_RELOAD", R"({})", R"(["body","payload","compose_dir"])", "value_error.missing"},
        {"DOCKER_RELOAD", R"({"compose_dir":["/a"]})", R"(["body","payload","compose_dir"])", "type_error.str"},
        {"DOCKER_RELOAD", R"({"compose_dir":"srv"})", R"(["body","payload","compose_dir"])",
         "value_error.path.not_absolute"},
        // COMPOSITE
        {"COMPOSITE", R"({})", R"(["body","payload","sequence"])", "value_error.missing"},
        {"COMPOSITE", R"({"sequence":{}})", R"(["body","payload","sequence"])", "type_error.list"},
        {"COMPOSITE", R"({"sequence":[]})", R"(["body","payload","sequence"])", "value_error.list.min_items"},
        {"COMPOSITE", R"({"sequence":[1]})", R"(["body","payload","sequence",0])", "type_error.dict"},
        {"COMPOSITE", R"({"sequence":[{"payload":{}}]})", R"(["body","payload","sequence",0,"task"])",
         "value_error.missing"},
        {"COMPOSITE", R"({"sequence":[{"task":"COMPOSITE","payload":{}}]})", R"(["body","payload","sequence",0,"task"])",
         "type_error.enum"},  // no nesting of composites
        {"COMPOSITE", R"({"sequence":[{"task":"provision_server","payload":{}}]})",
         R"(["body","payload","sequence",0,"task"])", "type_error.enum"},
        {"COMPOSITE", R"({"sequence":[{"task":"DOCKER_RELOAD"}]})", R"(["body","payload","sequence",0,"payload"])",
         "value_error.missing"},
        {"COMPOSITE", R"({"sequence":[{"task":"DOCKER_RELOAD","payload":"x"}]})",
         R"(["body","payload","sequence",0,"payload"])", "type_error.dict"},
        {"COMPOSITE",
         R"({"sequence":[{"task":"DOCKER_RELOAD","payload":{"compose_dir":"/a"}},{"task":"DOCKER_RELOAD","payload":{}}]})",
         R"(["body","payload","sequence",1,"payload","compose_dir"])", "value_error.missing"},
        {"COMPOSITE", R"({"sequence":[{"task":"FILE_WRITE","payload":{"path":"/a","content":"c","mode":"7777"}}]})",
         R"(["body","payload","sequence",0,"payload","mode"])", "value_error.mode"},
    };
    for (const Bad& b : bad) {
        BOOST_TEST_CONTEXT(b.type << " " << b.payload) {
            const FieldErrors errors = validate(b.type, b.payload);
            BOOST_TEST_REQUIRE(errors.size() == 1u);
            BOOST_TEST(loc_text(errors[0].loc) == b.loc);
            BOOST_TEST(errors[0].type == b.error_type);
            BOOST_TEST(!errors[0].msg.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported) {
    const FieldErrors errors = validate("FILE_WRITE", R"({"path":"rel","content":3,"mode":"9"})");
    std::vector<std::string> locs;
    for (const auto& e : errors) locs.push_back(loc_text(e.loc));
    const std::vector<std::string> expected{R"(["body","payload","path"])", R"(["body","payload","content"])",
                                            R"(["body","payload","mode"])"};
    BOOST_TEST(locs == expected, boost::test_tools::per_element());

    const FieldErrors env = validate("ENV_UPDATE", R"({"updates":{"1":"x","OK":"y","B":2}})");
    BOOST_TEST(env.size() == 3u);  // path missing, "1" bad key, "B" not a string

    const FieldErrors steps = validate("COMPOSITE", R"({"sequence":[{"task":"X","payload":{}},{},3]})");
    BOOST_TEST(steps.size() == 4u);  // [0].task enum, [1].task missing, [1].payload missing, [2] not a dict
}

BOOST_AUTO_TEST_CASE(errors_are_placed_under_the_given_loc) {
    FieldErrors out;
    const json::value v = json::parse(R"({"content":"x"})");
    taskd::model::validate_payload("FILE_WRITE", v.as_object(), Loc{"somewhere", std::size_t{7}}, out);
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(loc_text(out[0].loc) == R"(["somewhere",7,"path"])");
}

BOOST_AUTO_TEST_CASE(composite_step_count_bounds) {
    const std::string step = R"({"task":"DOCKER_RELOAD","payload":{"compose_dir":"/srv"}})";
    for (std::size_t n : {std::size_t{1}, std::size_t{99}, std::size_t{100}, std::size_t{101}}) {
        BOOST_TEST_CONTEXT(n << " steps") {
            std::string payload = R"({"sequence":[)";
            for (std::size_t i = 0; i < n; ++i) payload += (i ? "," : "") + step;
            payload += "]}";
            const FieldErrors errors = validate("COMPOSITE", payload);
            if (n <= taskd::model::kMaxCompositeSteps) {
                BOOST_TEST(errors.empty());
            } else {
                BOOST_TEST_REQUIRE(errors.size() == 1u);
                BOOST_TEST(loc_text(errors[0].loc) == R"(["body","payload","sequence"])");
                BOOST_TEST(errors[0].type == "value_error.list.max_items");
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(documented_types) {
    for (std::string_view t : {"FILE_WRITE", "ENV_UPDATE", "DOCKER_RELOAD", "COMPOSITE"})
        BOOST_TEST_CONTEXT(t) { BOOST_TEST(taskd::model::is_documented_type(t)); }
    for (std::string_view t : {"", "file_write", "provision_server", "FILE_WRITE ", "COMPOSITES"})
        BOOST_TEST_CONTEXT(t) { BOOST_TEST(!taskd::model::is_documented_type(t)); }
}

BOOST_AUTO_TEST_CASE(type_name_boundaries) {
    using taskd::model::is_valid_type_name;
    BOOST_TEST(is_valid_type_name("a"));
    BOOST_TEST(is_valid_type_name(std::string(64, 'x')));
    BOOST_TEST(!is_valid_type_name(std::string(65, 'x')));
    BOOST_TEST(!is_valid_type_name(""));
    BOOST_TEST(is_valid_type_name("ABCXYZabcxyz0189_.-"));
    BOOST_TEST(is_valid_type_name("provision_server"));
    BOOST_TEST(is_valid_type_name("v1.2-beta_3"));
    for (char c : std::string_view(" /:+*@!#$%&'\"()[]{}<>,;=?\\^`|~\t\n")) {
        BOOST_TEST_CONTEXT("character code " << static_cast<int>(c)) {
            BOOST_TEST(!is_valid_type_name(std::string("ab") + c));
        }
    }
    BOOST_TEST(!is_valid_type_name(std::string("a\0b", 3)));
    BOOST_TEST(!is_valid_type_name("caf\xc3\xa9"));  // é: letters are ASCII only
}

BOOST_AUTO_TEST_SUITE_END()
