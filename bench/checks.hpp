// Checks of response bodies: what makes an answer "right" for each scenario, beyond its status.
//
// A load generator that counts every 2xx as success would report a server that answers
// `null` to every claim, or the wrong task, as fast. These functions say what is wrong with a
// body (an empty optional when it is right). They parse with a JsonReader, which reuses its
// memory from one answer to the next so that checking costs the load thread little.
//
// Pure functions and a per-session reader: no I/O, not shared between threads.
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskd::bench {

// Parses JSON into memory that is released at the next parse: a value returned by parse() is
// valid until then.
class JsonReader {
public:
    JsonReader();
    JsonReader(const JsonReader&) = delete;
    JsonReader& operator=(const JsonReader&) = delete;

    // nullptr when `text` is not JSON.
    const boost::json::value* parse(std::string_view text);
    // What the last successful parse() returned; nullptr after a failed one.
    const boost::json::value* last() const { return value_ && !failed_ ? &*value_ : nullptr; }

private:
    std::array<unsigned char, 16 * 1024> initial_;  // enough for a task; a page of 50 is ~25 KiB
    // Made anew for each parse: Boost 1.81's monotonic_resource::release() keeps the size of
    // the next block it will ask for, which doubles with every block, so reusing one resource
    // for parses that outgrow the buffer soon asks for more memory than exists (bad_alloc).
    std::optional<boost::json::monotonic_resource> memory_;
    // An optional, so that a parsed value is move-constructed and keeps our memory resource
    // (move-assigning a value with another resource would copy it into the default heap).
    std::optional<boost::json::value> value_;
    bool failed_ = false;
};

// What a task in an answer must look like. Empty fields are not checked.
struct TaskExpectation {
    std::string_view status;    // "pending", "running", "completed"
    std::string_view id;        // the task asked for or created
    std::string_view agent_id;  // the claiming agent
};

using CheckError = std::optional<std::string>;

// `task` is a JSON object with a 36-character string id and the expected fields.
CheckError check_task(const boost::json::value& task, const TaskExpectation& expected);
// As above, from the body's text. On success, `id` (if given) receives the task's id.
CheckError check_task_body(JsonReader& reader, std::string_view body, const TaskExpectation& expected,
                           std::string* id = nullptr);
// A claim's answer: a task (not `null`) that is running and held by `agent_id`. On success,
// `claimed_id` receives its id.
CheckError check_claim_body(JsonReader& reader, std::string_view body, std::string_view agent_id,
                            std::string* claimed_id = nullptr);
// A listing: an array of exactly `count` task objects.
CheckError check_list_body(JsonReader& reader, std::string_view body, std::size_t count);
// Any JSON object (the fixed answer of the HTTP ceiling).
CheckError check_object_body(JsonReader& reader, std::string_view body);

// A random lower-case UUID (version 4), for tenant ids; not cryptographic.
std::string random_uuid();

}  // namespace taskd::bench
