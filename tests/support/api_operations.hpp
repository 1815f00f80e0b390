// The operations of taskd's API as "METHOD /pattern" strings ("PATCH /tasks/{task_id}"), from
// the two places that must agree: the router taskd builds, and an OpenAPI document's paths.
#pragma once

#include <boost/json/value.hpp>

#include <set>
#include <string>

namespace taskd::test {

// Every route of api::make_router(), built in-process as the server builds it.
std::set<std::string> router_operations();

// Every operation under the document's "paths".
std::set<std::string> document_operations(const boost::json::value& document);

}  // namespace taskd::test
