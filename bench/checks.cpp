#include "bench/checks.hpp"

#include <boost/json/parse.hpp>

#include <cstdio>
#include <random>

namespace taskd::bench {
namespace json = boost::json;

namespace {

constexpr std::size_t kUuidLength = 36;

std::string quoted(std::string_view s) {
    // Appended rather than `"\"" + std::string(s) + "\""`, which GCC 12 at -O3 flags with a
    // false -Wrestrict.
    std::string out;
    out.reserve(s.size() + 2);
    out.append(1, '"').append(s).append(1, '"');
    return out;
}

const json::string* string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v ? v->if_string() : nullptr;
}

}  // namespace

JsonReader::JsonReader() = default;

const json::value* JsonReader::parse(std::string_view text) {
    value_.reset();  // drops the last value before its memory is released
    memory_.emplace(initial_.data(), initial_.size());
    boost::system::error_code ec;
    value_.emplace(json::parse(text, ec, json::storage_ptr(&*memory_)));
    failed_ = static_cast<bool>(ec);
    return last();
}

CheckError check_task(const json::value& task, const TaskExpectation& expected) {
    const auto* o = task.if_object();
    if (!o) return "not a task object";
    const auto* id = string_field(*o, "id");
    if (!id || id->size() != kUuidLength) return "task without an id";
    if (!expected.id.empty() && *id != expected.id)
        return "task " + std::string(*id) + " instead of " + std::string(expected.id);
    if (!expected.status.empty()) {
        const auto* status = string_field(*o, "status");
        if (!status || *status != expected.status)
            return "status " + (status ? quoted(*status) : std::string("missing")) + " instead of " +
                   quoted(expected.status);
    }
    if (!expected.agent_id.empty()) {
        const auto* agent = string_field(*o, "agent_id");
        if (!agent || *agent != expected.agent_id) return "agent_id is not the claiming agent's";
    }
    return std::nullopt;
}

CheckError check_task_body(JsonReader& reader, std::string_view body, const TaskExpectation& expected,
                           std::string* id) {
    const auto* v = reader.parse(body);
    if (!v) return "not JSON";
    if (auto e = check_task(*v, expected)) return e;
    if (id) id->assign(v->as_object().at("id").as_string());
    return std::nullopt;
}

CheckError check_claim_body(JsonReader& reader, std::string_view body, std::string_view agent_id,
                            std::string* claimed_id) {
    const auto* v = reader.parse(body);
    if (!v) return "not JSON";
    if (v->is_null()) return "null: no task claimed";
    if (auto e = check_task(*v, {.status = "running", .id = {}, .agent_id = agent_id})) return e;
    if (claimed_id) claimed_id->assign(v->as_object().at("id").as_string());
    return std::nullopt;
}

CheckError check_list_body(JsonReader& reader, std::string_view body, std::size_t count) {
    const auto* v = reader.parse(body);
    if (!v) return "not JSON";
    const auto* a = v->if_array();
    if (!a) return "not an array";
    if (a->size() != count) return std::to_string(a->size()) + " tasks instead of " + std::to_string(count);
    for (const auto& task : *a)
        if (auto e = check_task(task, {})) return e;
    return std::nullopt;
}

CheckError check_object_body(JsonReader& reader, std::string_view body) {
    const auto* v = reader.parse(body);
    if (!v) return "not JSON";
    if (!v->is_object()) return "not a JSON object";
    return std::nullopt;
}

std::string random_uuid() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const std::uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    const std::uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
    char text[kUuidLength + 1];
    std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                  static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return std::string(text, kUuidLength);
}

}  // namespace taskd::bench
