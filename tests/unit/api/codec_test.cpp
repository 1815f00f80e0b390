// api/codec: Task and Agent JSON out; request bodies in, with every error at once.
#include "api/codec.hpp"
#include "loc_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

using taskd::test::loc_text;
namespace json = boost::json;
using namespace taskd;
using model::FieldErrors;

// "loc type" of each error, in order.
std::vector<std::string> summary(const FieldErrors& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(loc_text(e.loc) + " " + e.type);
    return out;
}

const char* kTenant = "2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f";
// The create's now: delay_seconds counts from it.
const model::Timestamp kNow = model::from_micros(1'800'000'000'000'000);

std::vector<std::string> keys(const json::object& o) {
    std::vector<std::string> out;
    for (const auto& kv : o) out.emplace_back(kv.key());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(new_task_defaults) {
    api::ApiConfig config;
    config.default_lease_seconds = 77;
    FieldErrors errors;
    const auto task = api::decode_new_task(json::parse(R"({"tenant_id":"2F4C7B1E0A9D4C3E8F215D6B7A8C9E0F",
                                                          "type":"provision_server","unknown":[1]})"),
                                           config, kNow, errors);
    BOOST_TEST(errors.empty());
    BOOST_TEST(model::to_string(task.tenant_id) == kTenant);
    BOOST_TEST(task.type == "provision_server");
    BOOST_TEST_REQUIRE(task.payload);
    BOOST_TEST(*task.payload == "{}");
    BOOST_TEST(task.max_attempts == 3u);
    BOOST_TEST(task.lease_seconds == 77u);

    FieldErrors none;
    const auto nulls = api::decode_new_task(
        json::parse(R"({"tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f","type":"X","max_attempts":null,"lease_seconds":null})"),
        config, kNow, none);
    BOOST_TEST(none.empty());
    BOOST_TEST(nulls.max_attempts == 3u);
    BOOST_TEST(nulls.lease_seconds == 77u);
}

BOOST_AUTO_TEST_CASE(new_task_keeps_the_payload_and_bounds) {
    FieldErrors errors;
    const auto task = api::decode_new_task(
        json::parse(R"({"tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f","type":"FILE_WRITE",
                        "payload":{"path":"/a","content":"x","note":1.0},"max_attempts":100,"lease_seconds":86400})"),
        {}, kNow, errors);
    BOOST_TEST(errors.empty());
    BOOST_TEST(*task.payload == R"({"path":"/a","content":"x","note":1.0})");
    BOOST_TEST(task.max_attempts == 100u);
    BOOST_TEST(task.lease_seconds == 86400u);

    FieldErrors low;
    const auto one = api::decode_new_task(
        json::parse(R"({"tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f","type":"X","max_attempts":1,"lease_seconds":1})"),
        {}, kNow, low);
    BOOST_TEST(low.empty());
    BOOST_TEST(one.max_attempts == 1u);
    BOOST_TEST(one.lease_seconds == 1u);
}

BOOST_AUTO_TEST_CASE(new_task_reports_every_error) {
    const std::pair<const char*, std::vector<std::string>> cases[] = {
        {"[]", {R"(["body"] type_error.dict)"}},
        {"null", {R"(["body"] type_error.dict)"}},
        {"{}", {R"(["body","tenant_id"] value_error.missing)", R"(["body","type"] value_error.missing)"}},
        {R"({"tenant_id":"nope","type":7,"payload":[],"max_attempts":0,"lease_seconds":86401})",
         {R"(["body","tenant_id"] type_error.uuid)", R"(["body","type"] type_error.str)",
          R"(["body","payload"] type_error.dict)", R"(["body","max_attempts"] value_error.number.not_ge)",
          R"(["body","lease_seconds"] value_error.number.not_le)"}},
        {R"({"tenant_id":5,"type":"","payload":null,"max_attempts":"3","lease_seconds":1.5})",
         {R"(["body","tenant_id"] type_error.uuid)", R"(["body","type"] value_error.str.regex)",
          R"(["body","payload"] type_error.none.not_allowed)", R"(["body","max_attempts"] type_error.integer)",
          R"(["body","lease_seconds"] type_error.integer)"}},
        {R"({"tenant_id":null,"type":"bad type","max_attempts":101,"lease_seconds":0})",
         {R"(["body","tenant_id"] type_error.uuid)", R"(["body","type"] value_error.str.regex)",
          R"(["body","max_attempts"] value_error.number.not_le)", R"(["body","lease_seconds"] value_error.number.not_ge)"}},
        {R"({"tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f","type":"FILE_WRITE","payload":{"path":"rel"},
             "max_attempts":-1,"lease_seconds":18446744073709551615})",
         {R"(["body","payload","path"] value_error.path.not_absolute)", R"(["body","payload","content"] value_error.missing)",
          R"(["body","max_attempts"] value_error.number.not_ge)", R"(["body","lease_seconds"] value_error.number.not_le)"}},
        {R"({"tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f","type":"DOCKER_RELOAD"})",
         {R"(["body","payload","compose_dir"] value_error.missing)"}},  // the default {} is validated too
        {R"({"tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f","type":"x","max_attempts":true})",
         {R"(["body","max_attempts"] type_error.integer)"}},
        {R"({"tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f","type":"x","max_attempts":9223372036854775807})",
         {R"(["body","max_attempts"] value_error.number.not_le)"}},
    };
    for (const auto& [body, want] : cases) {
        BOOST_TEST_CONTEXT(body) {
            FieldErrors errors;
            api::decode_new_task(json::parse(body), {}, kNow, errors);
            BOOST_TEST(summary(errors) == want, boost::test_tools::per_element());
            for (const auto& e : errors) BOOST_TEST(!e.msg.empty());
        }
    }
}

// Issue 23: priority, not_before and delay_seconds; every error at its loc.
BOOST_AUTO_TEST_CASE(new_task_schedule_fields) {
    const auto decode = [](const std::string& extra, FieldErrors& errors) {
        return api::decode_new_task(json::parse(R"({"tenant_id":")" + std::string(kTenant) + R"(","type":"x")" + extra + "}"),
                                    {}, kNow, errors);
    };
    const struct {
        const char* extra;
        int priority;
        std::optional<std::int64_t> not_before_us;
    } good[] = {
        {"", 5, std::nullopt},
        {R"(,"priority":null,"not_before":null,"delay_seconds":null)", 5, std::nullopt},
        {R"(,"priority":0)", 0, std::nullopt},
        {R"(,"priority":9,"delay_seconds":0)", 9, model::to_micros(kNow)},
        {R"(,"delay_seconds":31536000)", 5, model::to_micros(kNow) + 31'536'000'000'000},
        {R"(,"not_before":"2027-01-15T08:00:00+01:00")", 5, 1'799'996'400'000'000},
        {R"(,"not_before":"2027-01-15t07:00:00.1234567z")", 5, 1'799'996'400'123'456},
        {R"(,"not_before":"2027-01-15 06:30:00.5-00:30")", 5, 1'799'996'400'500'000},
    };
    for (const auto& g : good) {
        BOOST_TEST_CONTEXT(g.extra) {
            FieldErrors errors;
            const auto task = decode(g.extra, errors);
            BOOST_TEST(errors.empty());
            BOOST_TEST(int{task.schedule.priority} == g.priority);
            const auto at = task.schedule.not_before_time();
            BOOST_TEST(at.has_value() == g.not_before_us.has_value());
            if (at && g.not_before_us) BOOST_TEST(model::to_micros(*at) == *g.not_before_us);
        }
    }
    const std::pair<const char*, std::vector<std::string>> bad[] = {
        {R"(,"priority":10)", {R"(["body","priority"] value_error.number.not_le)"}},
        {R"(,"priority":-1)", {R"(["body","priority"] value_error.number.not_ge)"}},
        {R"(,"priority":"high")", {R"(["body","priority"] type_error.integer)"}},
        {R"(,"priority":5.5)", {R"(["body","priority"] type_error.integer)"}},
        {R"(,"delay_seconds":5,"not_before":"2027-01-15T08:00:00Z")",
         {R"(["body","delay_seconds"] value_error.schedule.exclusive)"}},
        {R"(,"not_before":"2027-01-15T08:00:00")", {R"(["body","not_before"] value_error.datetime.offset)"}},
        {R"(,"not_before":"2027-02-30T08:00:00Z")", {R"(["body","not_before"] value_error.datetime)"}},
        {R"(,"not_before":"tomorrow")", {R"(["body","not_before"] value_error.datetime)"}},
        {R"(,"not_before":1800000000)", {R"(["body","not_before"] value_error.datetime)"}},
        {R"(,"not_before":"0000-01-01T00:00:00+01:00")", {R"(["body","not_before"] value_error.datetime)"}},
        {R"(,"delay_seconds":-1)", {R"(["body","delay_seconds"] value_error.number.not_ge)"}},
        {R"(,"delay_seconds":31536001)", {R"(["body","delay_seconds"] value_error.number.not_le)"}},
        {R"(,"delay_seconds":1.5,"priority":10)",
         {R"(["body","priority"] value_error.number.not_le)", R"(["body","delay_seconds"] type_error.integer)"}},
    };
    for (const auto& [extra, want] : bad) {
        BOOST_TEST_CONTEXT(extra) {
            FieldErrors errors;
            decode(extra, errors);
            BOOST_TEST(summary(errors) == want, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(type_name_length_boundary) {
    for (std::size_t n : {std::size_t{64}, std::size_t{65}}) {
        BOOST_TEST_CONTEXT(n << " characters") {
            json::object body{{"tenant_id", kTenant}, {"type", std::string(n, 't')}};
            FieldErrors errors;
            api::decode_new_task(body, {}, kNow, errors);
            BOOST_TEST(errors.size() == (n == 64 ? 0u : 1u));
        }
    }
}

BOOST_AUTO_TEST_CASE(patch_decoding) {
    FieldErrors errors;
    const auto p = api::decode_patch(json::parse(R"({"status":"completed","result":{"ok":true},"other":1})"), errors);
    BOOST_TEST(errors.empty());
    BOOST_TEST_REQUIRE(p.status.has_value());
    BOOST_TEST((*p.status == model::Status::completed));
    BOOST_TEST_REQUIRE(p.result);
    BOOST_TEST(*p.result == R"({"ok":true})");

    FieldErrors empty_errors;
    const auto keep = api::decode_patch(json::parse(R"({"status":null,"result":null})"), empty_errors);
    BOOST_TEST(empty_errors.empty());
    BOOST_TEST(!keep.status.has_value());
    BOOST_TEST(!keep.result);

    const std::pair<const char*, std::vector<std::string>> bad[] = {
        {"[]", {R"(["body"] type_error.dict)"}},
        {R"({"status":"done","result":[1]})", {R"(["body","status"] type_error.enum)", R"(["body","result"] type_error.dict)"}},
        {R"({"status":"RUNNING"})", {R"(["body","status"] type_error.enum)"}},
        {R"({"status":1,"result":"x"})", {R"(["body","status"] type_error.enum)", R"(["body","result"] type_error.dict)"}},
    };
    for (const auto& [body, want] : bad) {
        BOOST_TEST_CONTEXT(body) {
            FieldErrors e;
            api::decode_patch(json::parse(body), e);
            BOOST_TEST(summary(e) == want, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(new_agent_decoding) {
    FieldErrors errors;
    const auto shared = api::decode_new_agent(json::parse(R"({"name":"edge-01","tenant_id":null,"x":1})"), errors);
    BOOST_TEST(errors.empty());
    BOOST_TEST(shared.name == "edge-01");
    BOOST_TEST(!shared.tenant_id.has_value());

    const auto scoped = api::decode_new_agent(json::parse(R"({"name":"e","tenant_id":"2f4c7b1e-0a9d-4c3e-8f21-5d6b7a8c9e0f"})"), errors);
    BOOST_TEST(errors.empty());
    BOOST_TEST_REQUIRE(scoped.tenant_id.has_value());
    BOOST_TEST(model::to_string(*scoped.tenant_id) == kTenant);

    std::string two_hundred;
    for (int i = 0; i < 200; ++i) two_hundred += "\xc3\xa9";  // 200 code points, 400 bytes
    const auto long_name = api::decode_new_agent(json::object{{"name", two_hundred}}, errors);
    BOOST_TEST(errors.empty());
    BOOST_TEST(long_name.name == two_hundred);

    const std::pair<json::value, std::vector<std::string>> bad[] = {
        {json::parse("[]"), {R"(["body"] type_error.dict)"}},
        {json::parse("{}"), {R"(["body","name"] value_error.missing)"}},
        {json::parse(R"({"name":"","tenant_id":"x"})"),
         {R"(["body","name"] value_error.any_str.min_length)", R"(["body","tenant_id"] type_error.uuid)"}},
        {json::parse(R"({"name":5,"tenant_id":1})"), {R"(["body","name"] type_error.str)", R"(["body","tenant_id"] type_error.uuid)"}},
        {json::parse(R"({"name":null})"), {R"(["body","name"] type_error.str)"}},
        {json::object{{"name", std::string(201, 'n')}}, {R"(["body","name"] value_error.any_str.max_length)"}},
        {json::object{{"name", two_hundred + "x"}}, {R"(["body","name"] value_error.any_str.max_length)"}},
    };
    for (const auto& [body, want] : bad) {
        BOOST_TEST_CONTEXT(json::serialize(body).substr(0, 60)) {
            FieldErrors e;
            api::decode_new_agent(body, e);
            BOOST_TEST(summary(e) == want, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(task_json_has_every_field_in_order) {
    model::Task t;
    t.id = *model::parse_uuid("7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f");
    t.tenant_id = *model::parse_uuid(kTenant);
    t.type = "we\"ird\\type";
    t.payload = model::make_json_text(R"({"path":"/opt/app/config.json","content":"{}"})");
    t.created_at = model::from_micros(1'795'558'143'123'456);
    t.updated_at = model::from_micros(1'795'558'143'123'457);
    t.max_attempts = 4;
    t.lease_seconds = 30;

    const std::vector<std::string> order{"id",         "tenant_id",  "agent_id", "type",     "payload",
                                         "status",     "result",     "created_at", "updated_at", "attempts",
                                         "lease_expires_at", "max_attempts", "lease_seconds", "priority",
                                         "not_before"};
    const json::value pending = json::parse(api::task_json(t));
    BOOST_TEST(keys(pending.as_object()) == order, boost::test_tools::per_element());
    BOOST_TEST(pending.at("id").as_string() == "7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f");
    BOOST_TEST(pending.at("tenant_id").as_string() == kTenant);
    BOOST_TEST(pending.at("agent_id").is_null());
    BOOST_TEST(pending.at("type").as_string() == "we\"ird\\type");
    BOOST_TEST(pending.at("payload").at("path").as_string() == "/opt/app/config.json");
    BOOST_TEST(pending.at("status").as_string() == "pending");
    BOOST_TEST(pending.at("result").is_null());
    BOOST_TEST(pending.at("created_at").as_string() == "2026-11-24T22:09:03.123456Z");
    BOOST_TEST(pending.at("updated_at").as_string() == "2026-11-24T22:09:03.123457Z");
    BOOST_TEST(pending.at("attempts").as_int64() == 0);
    BOOST_TEST(pending.at("lease_expires_at").is_null());
    BOOST_TEST(pending.at("max_attempts").as_int64() == 4);
    BOOST_TEST(pending.at("lease_seconds").as_int64() == 30);
    BOOST_TEST(pending.at("priority").as_int64() == 5);
    BOOST_TEST(pending.at("not_before").is_null());

    t.status = model::Status::running;
    t.agent_id = *model::parse_uuid("11111111-1111-4111-8111-111111111111");
    t.attempts = 2;
    t.lease_expires_at = model::from_micros(0);
    t.result = model::make_json_text(R"({"progress":[1,2]})");
    t.schedule = model::Schedule{model::from_micros(1'795'558'143'000'001), 9};
    std::string out = "[";
    api::append_task(out, t);
    out += "]";
    const json::value running = json::parse(out).at(0);
    BOOST_TEST(keys(running.as_object()) == order, boost::test_tools::per_element());
    BOOST_TEST(running.at("agent_id").as_string() == "11111111-1111-4111-8111-111111111111");
    BOOST_TEST(running.at("status").as_string() == "running");
    BOOST_TEST(running.at("result").at("progress").at(1).as_int64() == 2);
    BOOST_TEST(running.at("attempts").as_int64() == 2);
    BOOST_TEST(running.at("lease_expires_at").as_string() == "1970-01-01T00:00:00.000000Z");
    BOOST_TEST(running.at("priority").as_int64() == 9);
    BOOST_TEST(running.at("not_before").as_string() == "2026-11-24T22:09:03.000001Z");
}

BOOST_AUTO_TEST_CASE(agent_json_shows_the_token_only_when_given) {
    model::Agent a;
    a.id = *model::parse_uuid("7b1e2f4c-0a9d-4c3e-8f21-5d6b7a8c9e0f");
    a.name = "edge \"01\"\n";
    a.created_at = model::from_micros(0);
    std::string plain;
    api::append_agent(plain, a);
    const json::value v = json::parse(plain);
    BOOST_TEST(keys(v.as_object()) == (std::vector<std::string>{"id", "name", "tenant_id", "created_at", "last_seen_at"}),
               boost::test_tools::per_element());
    BOOST_TEST(v.at("name").as_string() == "edge \"01\"\n");
    BOOST_TEST(v.at("tenant_id").is_null());
    BOOST_TEST(v.at("last_seen_at").is_null());

    a.tenant_id = *model::parse_uuid(kTenant);
    a.last_seen_at = model::from_micros(1'000'000);
    std::string with_token;
    api::append_agent(with_token, a, "tok_en-1");
    const json::value w = json::parse(with_token);
    BOOST_TEST(w.at("tenant_id").as_string() == kTenant);
    BOOST_TEST(w.at("last_seen_at").as_string() == "1970-01-01T00:00:01.000000Z");
    BOOST_TEST(w.at("token").as_string() == "tok_en-1");
}

BOOST_AUTO_TEST_SUITE_END()
