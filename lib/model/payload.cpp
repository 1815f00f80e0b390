#include "model/payload.hpp"

#include "model/task.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <array>

namespace taskd::model {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 3> kStepTypes{"FILE_WRITE", "ENV_UPDATE", "DOCKER_RELOAD"};

void add(FieldErrors& out, Loc loc, std::string msg, std::string type) {
    out.push_back(FieldError{std::move(loc), std::move(msg), std::move(type)});
}

// Returns the string at `key`, or reports why there is none and returns nullptr.
const json::string* require_string(const json::object& obj, std::string_view key, const Loc& at, FieldErrors& out) {
    const json::value* v = obj.if_contains(key);
    if (!v) {
        add(out, child(at, std::string(key)), "field required", "value_error.missing");
        return nullptr;
    }
    if (!v->is_string()) {
        add(out, child(at, std::string(key)), "str type expected", "type_error.str");
        return nullptr;
    }
    return &v->get_string();
}

void check_path(const json::object& obj, std::string_view key, const Loc& at, FieldErrors& out) {
    const json::string* path = require_string(obj, key, at, out);
    if (!path) return;
    const std::string_view p = *path;
    if (p.find('\0') != std::string_view::npos)
        add(out, child(at, std::string(key)), "path must not contain NUL", "value_error.path.nul");
    else if (!p.starts_with('/'))
        add(out, child(at, std::string(key)), "must be an absolute path", "value_error.path.not_absolute");
}

// "0644", "644": 3 or 4 octal digits, no setuid/setgid/sticky bits.
bool is_valid_mode(std::string_view mode) {
    if (mode.size() != 3 && mode.size() != 4) return false;
    if (!std::all_of(mode.begin(), mode.end(), [](char c) { return c >= '0' && c <= '7'; })) return false;
    return mode.size() == 3 || mode.front() == '0';
}

bool is_env_key(std::string_view key) {
    if (key.empty()) return false;
    auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!alpha(key.front())) return false;
    return std::all_of(key.begin() + 1, key.end(), [&](char c) { return alpha(c) || digit(c); });
}

void validate_file_write(const json::object& p, const Loc& at, FieldErrors& out) {
    check_path(p, "path", at, out);
    require_string(p, "content", at, out);
    if (const json::value* mode = p.if_contains("mode"); mode && !mode->is_null()) {
        if (!mode->is_string())
            add(out, child(at, "mode"), "str type expected", "type_error.str");
        else if (!is_valid_mode(mode->get_string()))
            add(out, child(at, "mode"), "must be 3 or 4 octal digits, at most 0777", "value_error.mode");
    }
}

void validate_env_update(const json::object& p, const Loc& at, FieldErrors& out) {
    check_path(p, "path", at, out);
    const json::value* updates = p.if_contains("updates");
    if (!updates) {
        add(out, child(at, "updates"), "field required", "value_error.missing");
        return;
    }
    if (!updates->is_object()) {
        add(out, child(at, "updates"), "value is not a valid dict", "type_error.dict");
        return;
    }
    const Loc updates_at = child(at, "updates");
    for (const auto& kv : updates->get_object()) {
        const std::string key(kv.key());
        if (!is_env_key(key))
            add(out, child(updates_at, key), "invalid variable name: must match [A-Za-z_][A-Za-z0-9_]*",
                "value_error.env_key");
        else if (!kv.value().is_string())
            add(out, child(updates_at, key), "str type expected", "type_error.str");
        else if (kv.value().get_string().find('\0') != std::string_view::npos)
            add(out, child(updates_at, key), "value must not contain NUL", "value_error.env_value");
    }
}

void validate_docker_reload(const json::object& p, const Loc& at, FieldErrors& out) {
    check_path(p, "compose_dir", at, out);
}

void validate_composite(const json::object& p, const Loc& at, FieldErrors& out) {
    const json::value* seq = p.if_contains("sequence");
    const Loc seq_at = child(at, "sequence");
    if (!seq) {
        add(out, seq_at, "field required", "value_error.missing");
        return;
    }
    if (!seq->is_array()) {
        add(out, seq_at, "value is not a valid list", "type_error.list");
        return;
    }
    const json::array& steps = seq->get_array();
    if (steps.empty()) {
        add(out, seq_at, "ensure this value has at least 1 items", "value_error.list.min_items");
        return;
    }
    if (steps.size() > kMaxCompositeSteps) {
        add(out, seq_at, "ensure this value has at most 100 items", "value_error.list.max_items");
        return;
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Loc step_at = child(seq_at, i);
        if (!steps[i].is_object()) {
            add(out, step_at, "value is not a valid dict", "type_error.dict");
            continue;
        }
        const json::object& step = steps[i].get_object();
        const json::string* type = require_string(step, "task", step_at, out);
        if (type && std::find(kStepTypes.begin(), kStepTypes.end(), std::string_view(*type)) == kStepTypes.end()) {
            add(out, child(step_at, "task"),
                "value is not a valid enumeration member; permitted: 'FILE_WRITE', 'ENV_UPDATE', 'DOCKER_RELOAD'",
                "type_error.enum");
            type = nullptr;
        }
        const json::value* payload = step.if_contains("payload");
        if (!payload) {
            add(out, child(step_at, "payload"), "field required", "value_error.missing");
            continue;
        }
        if (!payload->is_object()) {
            add(out, child(step_at, "payload"), "value is not a valid dict", "type_error.dict");
            continue;
        }
        if (type) validate_payload(*type, payload->get_object(), child(step_at, "payload"), out);
    }
}

}  // namespace

bool is_documented_type(std::string_view type) {
    return type == "FILE_WRITE" || type == "ENV_UPDATE" || type == "DOCKER_RELOAD" || type == "COMPOSITE";
}

bool is_valid_type_name(std::string_view type) {
    if (type.empty() || type.size() > kMaxTypeLength) return false;
    return std::all_of(type.begin(), type.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
               c == '-';
    });
}

void validate_payload(std::string_view type, const json::object& payload, const Loc& at, FieldErrors& out) {
    if (type == "FILE_WRITE") validate_file_write(payload, at, out);
    else if (type == "ENV_UPDATE") validate_env_update(payload, at, out);
    else if (type == "DOCKER_RELOAD") validate_docker_reload(payload, at, out);
    else if (type == "COMPOSITE") validate_composite(payload, at, out);
}

}  // namespace taskd::model
