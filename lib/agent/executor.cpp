#include "agent/executor.hpp"

#include "agent/atomic_file.hpp"
#include "agent/command.hpp"
#include "agent/env_file.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

namespace taskd::agent {
namespace json = boost::json;

namespace {

// A new .env may hold secrets: readable by its owner only, unless it existed (then its mode stays).
constexpr unsigned kNewEnvMode = 0600;
constexpr unsigned kDefaultFileMode = 0644;

Outcome<std::string_view> string_field(const json::object& payload, std::string_view name) {
    const auto* v = payload.if_contains(name);
    if (!v) return fail("payload." + std::string(name) + " is missing");
    if (!v->is_string()) return fail("payload." + std::string(name) + " must be a string");
    return std::string_view(v->get_string());
}

std::string format_duration(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
    return std::to_string(d.count()) + "ms";
}

bool is_leaf_type(std::string_view type) {
    return type == "FILE_WRITE" || type == "ENV_UPDATE" || type == "DOCKER_RELOAD";
}

}  // namespace

Outcome<unsigned> parse_mode(std::string_view text) {
    if (text.size() < 3 || text.size() > 4) return fail("payload.mode must be 3 or 4 octal digits, like \"0644\"");
    unsigned mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') return fail("payload.mode must be 3 or 4 octal digits, like \"0644\"");
        mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    if (mode > 0777) return fail("payload.mode may not set the setuid, setgid or sticky bit");
    return mode;
}

Outcome<json::object> Executor::run(std::string_view type, const json::value& payload,
                                    const std::atomic<bool>* cancel) const {
    if (type == "COMPOSITE") {
        if (!payload.is_object()) return fail("payload must be an object");
        return composite(payload.get_object(), cancel);
    }
    return run_step(type, payload, kMaxOutputBytes, cancel);
}

Outcome<json::object> Executor::run_step(std::string_view type, const json::value& payload, std::size_t max_output,
                                         const std::atomic<bool>* cancel) const {
    if (!is_leaf_type(type)) return fail("unsupported task type \"" + std::string(type) + "\"");
    if (!payload.is_object()) return fail("payload must be an object");
    const auto& p = payload.get_object();
    if (type == "FILE_WRITE") return file_write(p);
    if (type == "ENV_UPDATE") return env_update(p);
    return docker_reload(p, max_output, cancel);
}

Outcome<json::object> Executor::file_write(const json::object& payload) const {
    auto path = string_field(payload, "path");
    if (!path) return path.error();
    auto content = string_field(payload, "content");
    if (!content) return content.error();
    unsigned mode = kDefaultFileMode;
    if (const auto* m = payload.if_contains("mode"); m && !m->is_null()) {
        if (!m->is_string()) return fail("payload.mode must be a string of octal digits, like \"0644\"");
        auto parsed = parse_mode(m->get_string());
        if (!parsed) return parsed.error();
        mode = *parsed;
    }
    auto file = roots_.parent_of(*path);
    if (!file) return file.error();
    if (auto w = replace_file(file->dir.get(), file->name, *content, mode, *path); !w) return w.error();
    return json::object{{"path", *path}, {"bytes_written", content->size()}, {"sha256", sha256_hex(*content)}};
}

Outcome<json::object> Executor::env_update(const json::object& payload) const {
    auto path = string_field(payload, "path");
    if (!path) return path.error();
    const auto* u = payload.if_contains("updates");
    if (!u) return fail("payload.updates is missing");
    if (!u->is_object()) return fail("payload.updates must be an object of KEY -> string");
    std::vector<std::pair<std::string, std::string>> updates;
    for (const auto& kv : u->get_object()) {
        if (!kv.value().is_string()) return fail("payload.updates." + std::string(kv.key()) + " must be a string");
        updates.emplace_back(kv.key(), kv.value().get_string());
    }
    auto file = roots_.parent_of(*path);
    if (!file) return file.error();
    auto existing = read_file_at(file->dir.get(), file->name, *path);
    if (!existing) return existing.error();
    auto rewritten = rewrite_env(*existing ? (*existing)->bytes : std::string_view{}, updates);
    if (!rewritten) return rewritten.error();
    const unsigned mode = *existing ? (*existing)->mode & 0777 : kNewEnvMode;
    if (auto w = replace_file(file->dir.get(), file->name, rewritten->text, mode, *path); !w) return w.error();
    json::array updated, added;
    for (auto& k : rewritten->updated) updated.emplace_back(k);
    for (auto& k : rewritten->added) added.emplace_back(k);
    return json::object{{"path", *path}, {"updated", std::move(updated)}, {"added", std::move(added)}};
}

Outcome<json::object> Executor::docker_reload(const json::object& payload, std::size_t max_output,
                                              const std::atomic<bool>* cancel) const {
    auto dir_path = string_field(payload, "compose_dir");
    if (!dir_path) return dir_path.error();
    auto dir = roots_.directory(*dir_path);
    if (!dir) return dir.error();
    std::vector<std::string> argv = config_.compose_command;
    for (const char* a : {"up", "-d", "--remove-orphans"}) argv.emplace_back(a);
    json::array command;
    for (const auto& a : argv) command.emplace_back(a);

    auto ran = run_command(argv, dir->get(), config_.step_timeout, max_output, cancel);
    if (!ran) return ran.error();
    json::object result{{"compose_dir", *dir_path},
                        {"command", std::move(command)},
                        {"exit_code", ran->exit_code},
                        {"output", ran->output},
                        {"output_bytes", ran->output_bytes}};
    if (ran->timed_out)
        return Failure{"timed out after " + format_duration(config_.step_timeout) + "; its process group was killed",
                       std::move(result)};
    if (ran->cancelled)
        return Failure{"cancelled: the agent is shutting down; its process group was killed", std::move(result)};
    if (ran->exit_code != 0)
        return Failure{argv.front() + " exited with status " + std::to_string(ran->exit_code), std::move(result)};
    return result;
}

Outcome<json::object> Executor::composite(const json::object& payload, const std::atomic<bool>* cancel) const {
    const auto* s = payload.if_contains("sequence");
    if (!s) return fail("payload.sequence is missing");
    if (!s->is_array()) return fail("payload.sequence must be an array of {task, payload}");
    const auto& sequence = s->get_array();

    // Every step is checked before the first runs: a malformed step 3 must not leave steps 1-2
    // done and the rest undone.
    json::array steps;
    std::optional<Failure> refused;
    std::size_t commands = 0;
    for (std::size_t i = 0; i < sequence.size(); ++i) {
        const auto* step = sequence[i].if_object();
        const json::value* task = step ? step->if_contains("task") : nullptr;
        const std::string type = task && task->is_string() ? std::string(task->get_string()) : std::string();
        std::string why;
        if (!step) why = "must be an object {task, payload}";
        else if (!task || !task->is_string()) why = "has no task type";
        else if (type == "COMPOSITE") why = "is a nested COMPOSITE, which is refused";
        else if (!is_leaf_type(type)) why = "has unsupported task type \"" + type + "\"";
        if (type == "DOCKER_RELOAD") ++commands;
        if (!why.empty() && !refused) {
            refused = fail("step " + std::to_string(i + 1) + " " + why);
            steps.push_back(json::object{{"task", type.empty() ? json::value(nullptr) : json::value(type)},
                                         {"status", "failed"},
                                         {"error", refused->message}});
        } else {
            steps.push_back(json::object{{"task", type.empty() ? json::value(nullptr) : json::value(type)},
                                         {"status", "skipped"}});
        }
    }
    if (refused) {
        refused->extra = json::object{{"steps", std::move(steps)}};
        return *refused;
    }
    const std::size_t max_output = commands == 0 ? kMaxOutputBytes
                                                 : std::min(kMaxOutputBytes, kMaxTotalOutputBytes / commands);
    for (std::size_t i = 0; i < sequence.size(); ++i) {
        const auto& step = sequence[i].get_object();
        const std::string type(step.at("task").get_string());
        const auto* payload_value = step.if_contains("payload");
        static const json::value kEmpty = json::object{};
        auto done = run_step(type, payload_value ? *payload_value : kEmpty, max_output, cancel);
        auto& entry = steps[i].get_object();
        if (done) {
            entry["status"] = "ok";
            entry["result"] = std::move(*done);
            continue;
        }
        Failure f = std::move(done.error());
        entry["status"] = "failed";
        entry["error"] = f.message;
        for (auto& kv : f.extra) entry[kv.key()] = std::move(kv.value());
        return Failure{"step " + std::to_string(i + 1) + " (" + type + ") failed: " + f.message,
                       json::object{{"steps", std::move(steps)}, {"failed_step", i + 1}}};
    }
    return json::object{{"steps", std::move(steps)}};
}

}  // namespace taskd::agent
