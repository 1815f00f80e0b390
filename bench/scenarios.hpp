// The scenarios of taskd-bench: what each sends, and what makes each answer right.
//
//   create     POST /tasks/ (admin)                                    201, a pending task
//   get        GET /tasks/{id} of tasks the session created            200, that task (checked in
//                                                                      full once, then the same bytes)
//   list       GET /tasks/?tenant_id=T&limit=N, T holding N tasks      200, an array of N tasks
//   claim      GET /tasks/next?agent_id=A on a pre-filled queue        200, a running task held by
//                                                                      A, never one claimed before
//   lifecycle  create, claim with the agent's token, PATCH completed   each step's status, the
//                                                                      claimed task is the created one
//   longpoll   agents wait in GET /tasks/next?wait=W, producers create; latency = creation to claim
//              (with --delay-ms, tasks wait for a not_before; latency = not_before to claim)
//   static     GET --path (the HTTP ceiling: nginx's fixed answer)     200, the same JSON object
//                                                                      as the first answer
//
// Every session has its own tenant and agent where the scenario allows (create, get, lifecycle:
// an edge host's agent claims its own tenant's tasks), so that a lifecycle can check that the
// task it claims is the one it created. claim and longpoll share one tenant between all agents,
// the queue a fleet drains together. lifecycle over --protocol beanstalk drives beanstalkd with
// put, reserve, delete on a tube per session.
#pragma once

#include "bench/api_client.hpp"
#include "bench/load.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace taskd::bench {

enum class Protocol { http, beanstalk };

struct ScenarioOptions {
    Target target;
    Protocol protocol = Protocol::http;
    std::size_t list_limit = 50;          // list: page size, and tasks in the listed tenant
    std::optional<std::uint64_t> prefill;  // claim: tasks queued first (default: the budget)
    unsigned wait_seconds = 5;            // longpoll: wait= of each claim
    std::size_t producers = 1;            // longpoll: connections creating tasks
    unsigned delay_ms = 0;                // longpoll: tasks made with a not_before this far ahead
    std::string path = "/";               // static
};

const std::vector<std::string>& scenario_names();

// Throws std::invalid_argument for an unknown name or a scenario the protocol lacks.
std::unique_ptr<Scenario> make_scenario(const std::string& name, const ScenarioOptions& options);

// Defined in their own files.
std::unique_ptr<Scenario> make_longpoll_scenario(const ScenarioOptions& options);
std::unique_ptr<Scenario> make_beanstalk_lifecycle_scenario(const ScenarioOptions& options);

}  // namespace taskd::bench
