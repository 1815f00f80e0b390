// JSON codecs of API.md's objects: Task and Agent out, request bodies in.
//
// Decoders append one FieldError per problem to `errors` (all problems of a body are reported
// at once, as FastAPI does) and return what they could read; the caller answers 422 whenever
// `errors` is not empty. Unknown fields are ignored, as the original's pydantic models did.
#pragma once

#include "api/context.hpp"
#include "model/agent.hpp"
#include "model/field_error.hpp"
#include "model/task.hpp"
#include "model/transition.hpp"
#include "store/store.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace taskd::api {

void append_task(std::string& out, const model::Task& task);
std::string task_json(const model::Task& task);

// `token` is shown once, in the answer to POST /agents.
void append_agent(std::string& out, const model::Agent& agent, std::optional<std::string_view> token = {});

// `now` turns "delay_seconds" into not_before.
store::NewTask decode_new_task(const boost::json::value& body, const ApiConfig& config, model::Timestamp now,
                               model::FieldErrors& errors);
model::Patch decode_patch(const boost::json::value& body, model::FieldErrors& errors);

struct NewAgent {
    std::string name;
    std::optional<model::Uuid> tenant_id;
};
NewAgent decode_new_agent(const boost::json::value& body, model::FieldErrors& errors);

// Shared by the decoders and the query-string readers.
model::FieldError invalid_uuid(model::Loc loc);
model::FieldError invalid_status(model::Loc loc);

}  // namespace taskd::api
