#include "api/codec.hpp"

#include "model/payload.hpp"
#include "util/json_text.hpp"

#include <charconv>

namespace taskd::api {
namespace json = boost::json;
using namespace std::literals;
using model::FieldError;
using model::FieldErrors;
using model::Loc;

namespace {

void append_uint(std::string& out, std::uint64_t n) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_optional_uuid(std::string& out, const std::optional<model::Uuid>& id) {
    if (!id) {
        out += "null"sv;
        return;
    }
    out += '"';
    model::append_uuid(out, *id);
    out += '"';
}

void append_time(std::string& out, model::Timestamp t) {
    out += '"';
    model::append_rfc3339(out, t);
    out += '"';
}

void append_optional_time(std::string& out, const std::optional<model::Timestamp>& t) {
    if (t) append_time(out, *t);
    else out += "null"sv;
}

FieldError missing(Loc loc) { return {std::move(loc), "field required", "value_error.missing"}; }
FieldError not_a_dict(Loc loc) { return {std::move(loc), "value is not a valid dict", "type_error.dict"}; }
FieldError not_a_string(Loc loc) { return {std::move(loc), "str type expected", "type_error.str"}; }

// Body must be an object; nullptr (with the error noted) when it is not.
const json::object* body_object(const json::value& body, FieldErrors& errors) {
    if (body.is_object()) return &body.get_object();
    errors.push_back(not_a_dict({"body"}));
    return nullptr;
}

// An optional integer field in [lo, hi]; absent or null means `fallback`.
std::uint32_t bounded_int(const json::object& obj, std::string_view key, std::int64_t lo, std::int64_t hi,
                          std::uint32_t fallback, FieldErrors& errors) {
    const json::value* v = obj.if_contains(key);
    if (!v || v->is_null()) return fallback;
    const Loc loc{"body", std::string(key)};
    std::int64_t n = 0;
    if (v->is_int64()) n = v->get_int64();
    else if (v->is_uint64()) n = hi + 1;  // beyond int64: certainly too large
    else {
        errors.push_back({loc, "value is not a valid integer", "type_error.integer"});
        return fallback;
    }
    if (n < lo) errors.push_back({loc, "ensure this value is greater than or equal to " + std::to_string(lo),
                                  "value_error.number.not_ge"});
    else if (n > hi)
        errors.push_back({loc, "ensure this value is less than or equal to " + std::to_string(hi),
                          "value_error.number.not_le"});
    else return static_cast<std::uint32_t>(n);
    return fallback;
}

std::optional<model::Uuid> uuid_field(const json::object& obj, std::string_view key, bool required, FieldErrors& errors) {
    const Loc loc{"body", std::string(key)};
    const json::value* v = obj.if_contains(key);
    if (!v || (!required && v->is_null())) {
        if (required) errors.push_back(missing(loc));
        return std::nullopt;
    }
    if (v->is_string())
        if (auto id = model::parse_uuid(v->get_string())) return id;
    errors.push_back(invalid_uuid(loc));
    return std::nullopt;
}

// Python counts a string's length in code points; so do we. The text is valid UTF-8.
std::size_t code_points(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return n;
}

}  // namespace

FieldError invalid_uuid(Loc loc) { return {std::move(loc), "value is not a valid uuid", "type_error.uuid"}; }

FieldError invalid_status(Loc loc) {
    return {std::move(loc),
            "value is not a valid enumeration member; permitted: 'pending', 'running', 'completed', 'failed'",
            "type_error.enum"};
}

void append_task(std::string& out, const model::Task& t) {
    out += "{\"id\":\""sv;
    model::append_uuid(out, t.id);
    out += "\",\"tenant_id\":\""sv;
    model::append_uuid(out, t.tenant_id);
    out += "\",\"agent_id\":"sv;
    append_optional_uuid(out, t.agent_id);
    out += ",\"type\":"sv;
    util::append_json_string(out, t.type);
    out += ",\"payload\":"sv;
    out += *t.payload;
    out += ",\"status\":\""sv;
    out += to_string(t.status);
    out += "\",\"result\":"sv;
    out += t.result ? std::string_view(*t.result) : std::string_view("null");
    out += ",\"created_at\":"sv;
    append_time(out, t.created_at);
    out += ",\"updated_at\":"sv;
    append_time(out, t.updated_at);
    out += ",\"attempts\":"sv;
    append_uint(out, t.attempts);
    out += ",\"lease_expires_at\":"sv;
    append_optional_time(out, t.lease_expires_at);
    out += ",\"max_attempts\":"sv;
    append_uint(out, t.max_attempts);
    out += ",\"lease_seconds\":"sv;
    append_uint(out, t.lease_seconds);
    out += ",\"priority\":"sv;
    append_uint(out, t.schedule.priority);
    out += ",\"not_before\":"sv;
    append_optional_time(out, t.schedule.not_before_time());
    out += '}';
}

std::string task_json(const model::Task& task) {
    std::string out;
    out.reserve(400 + task.payload->size() + (task.result ? task.result->size() : 0));
    append_task(out, task);
    return out;
}

void append_agent(std::string& out, const model::Agent& a, std::optional<std::string_view> token) {
    out += "{\"id\":\""sv;
    model::append_uuid(out, a.id);
    out += "\",\"name\":"sv;
    util::append_json_string(out, a.name);
    out += ",\"tenant_id\":"sv;
    append_optional_uuid(out, a.tenant_id);
    out += ",\"created_at\":"sv;
    append_time(out, a.created_at);
    out += ",\"last_seen_at\":"sv;
    append_optional_time(out, a.last_seen_at);
    if (token) {
        out += ",\"token\":"sv;
        util::append_json_string(out, *token);
    }
    out += '}';
}

namespace {

// "not_before" (RFC 3339 with an offset) or "delay_seconds" (from `now`), not both; nullopt
// when neither (or when one is invalid: the error is noted).
std::optional<model::Timestamp> read_not_before(const json::object& obj, model::Timestamp now, FieldErrors& errors) {
    const json::value* at = obj.if_contains("not_before");
    if (at && at->is_null()) at = nullptr;
    const json::value* delay = obj.if_contains("delay_seconds");
    if (delay && delay->is_null()) delay = nullptr;
    if (at && delay) {
        // pydantic would name "__root__"; the field that cannot be given is more use to a client.
        errors.push_back({{"body", "delay_seconds"}, "give either not_before or delay_seconds, not both",
                          "value_error.schedule.exclusive"});
        return std::nullopt;
    }
    if (delay) {
        constexpr std::uint32_t kNone = 0xffffffff;  // above kMaxDelaySeconds: no valid value
        const std::uint32_t seconds = bounded_int(obj, "delay_seconds", 0, model::kMaxDelaySeconds, kNone, errors);
        if (seconds == kNone) return std::nullopt;
        return now + std::chrono::seconds{seconds};
    }
    if (!at) return std::nullopt;
    const Loc loc{"body", "not_before"};
    if (!at->is_string()) {
        errors.push_back({loc, "invalid datetime format", "value_error.datetime"});
        return std::nullopt;
    }
    const auto parsed = model::parse_rfc3339(at->get_string());
    switch (parsed.outcome) {
        case model::TimeParse::ok: return parsed.time;
        case model::TimeParse::missing_offset:
            errors.push_back({loc, "timezone offset required (a time without one names no instant)",
                              "value_error.datetime.offset"});
            break;
        case model::TimeParse::invalid:
            errors.push_back({loc, "invalid datetime format", "value_error.datetime"});
            break;
    }
    return std::nullopt;
}

}  // namespace

store::NewTask decode_new_task(const json::value& body, const ApiConfig& config, model::Timestamp now,
                               FieldErrors& errors) {
    store::NewTask task;
    const json::object* obj = body_object(body, errors);
    if (!obj) return task;

    if (auto tenant = uuid_field(*obj, "tenant_id", true, errors)) task.tenant_id = *tenant;

    bool type_ok = false;
    if (const json::value* type = obj->if_contains("type"); !type) {
        errors.push_back(missing({"body", "type"}));
    } else if (!type->is_string()) {
        errors.push_back(not_a_string({"body", "type"}));
    } else if (!model::is_valid_type_name(type->get_string())) {
        errors.push_back({{"body", "type"}, "string does not match regex \"^[A-Za-z0-9_.-]{1,64}$\"",
                          "value_error.str.regex"});
    } else {
        task.type = type->get_string();
        type_ok = true;
    }

    static const json::object kEmpty;
    const json::object* payload = &kEmpty;
    if (const json::value* p = obj->if_contains("payload")) {
        if (p->is_null()) {
            errors.push_back({{"body", "payload"}, "none is not an allowed value", "type_error.none.not_allowed"});
            payload = nullptr;
        } else if (!p->is_object()) {
            errors.push_back(not_a_dict({"body", "payload"}));
            payload = nullptr;
        } else {
            payload = &p->get_object();
        }
    }
    if (payload && type_ok) model::validate_payload(task.type, *payload, {"body", "payload"}, errors);
    if (payload) task.payload = model::make_json_text(util::to_json(*payload));

    task.max_attempts = bounded_int(*obj, "max_attempts", 1, model::kMaxMaxAttempts, model::kDefaultMaxAttempts, errors);
    task.lease_seconds =
        bounded_int(*obj, "lease_seconds", 1, model::kMaxLeaseSeconds, config.default_lease_seconds, errors);
    task.schedule.priority = static_cast<std::uint8_t>(
        bounded_int(*obj, "priority", 0, model::kMaxPriority, model::kDefaultPriority, errors));
    task.schedule.set_not_before(read_not_before(*obj, now, errors));
    return task;
}

model::Patch decode_patch(const json::value& body, FieldErrors& errors) {
    model::Patch patch;
    const json::object* obj = body_object(body, errors);
    if (!obj) return patch;
    if (const json::value* s = obj->if_contains("status"); s && !s->is_null()) {
        if (s->is_string()) patch.status = model::parse_status(s->get_string());
        if (!patch.status) errors.push_back(invalid_status({"body", "status"}));
    }
    if (const json::value* r = obj->if_contains("result"); r && !r->is_null()) {
        if (r->is_object()) patch.result = model::make_json_text(util::to_json(*r));
        else errors.push_back(not_a_dict({"body", "result"}));
    }
    return patch;
}

NewAgent decode_new_agent(const json::value& body, FieldErrors& errors) {
    NewAgent agent;
    const json::object* obj = body_object(body, errors);
    if (!obj) return agent;
    if (const json::value* name = obj->if_contains("name"); !name) {
        errors.push_back(missing({"body", "name"}));
    } else if (!name->is_string()) {
        errors.push_back(not_a_string({"body", "name"}));
    } else if (const auto n = code_points(name->get_string()); n < 1) {
        errors.push_back({{"body", "name"}, "ensure this value has at least 1 characters",
                          "value_error.any_str.min_length"});
    } else if (n > model::kMaxAgentNameLength) {
        errors.push_back({{"body", "name"}, "ensure this value has at most 200 characters",
                          "value_error.any_str.max_length"});
    } else {
        agent.name = name->get_string();
    }
    agent.tenant_id = uuid_field(*obj, "tenant_id", false, errors);
    return agent;
}

}  // namespace taskd::api
