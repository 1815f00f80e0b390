// The transition table of API.md, as pure functions on a Task.
//
// Every change of a task's state goes through here: a PATCH (by the admin or by an agent), a
// claim, and a release (lease expiry, agent deletion). The store decides *which* task and holds
// the lock; this file decides *whether* and *what*. Nothing here touches shared state.
#pragma once

#include "model/errc.hpp"
#include "model/task.hpp"

#include <optional>
#include <string_view>

namespace taskd::model {

// Who is asking: the control plane (admin), or an agent.
struct Actor {
    bool admin = false;
    Uuid agent_id{};  // when !admin

    static Actor make_admin() { return Actor{true, {}}; }
    static Actor make_agent(const Uuid& id) { return Actor{false, id}; }
};

struct Patch {
    std::optional<Status> status;  // nullopt: keep the status (a transition X -> X)
    JsonText result;               // null: keep the result
};

// The effect a transition has besides setting the status; what `decide` allows.
enum class Effect {
    heartbeat,    // running -> running: extend the lease
    finish,       // running -> completed/failed: clear the lease, keep agent_id
    cancel,       // pending -> failed
    requeue,      // completed/failed -> pending: clear agent_id, result, lease; attempts = 0
    result_only,  // pending -> pending, completed -> completed, failed -> failed
};

// Looks up (from, to, who) in the table. Errc::lease_lost when an agent does not hold the task
// now, Errc::conflict when the table has no such row; the Error carries the client's detail.
Result<Effect> decide(const Task& task, Status to, const Actor& actor);

// decide + apply: on success `task` is changed and updated_at = now; on failure it is untouched.
Result<void> apply_patch(Task& task, const Patch& patch, const Actor& actor, Timestamp now);

// A claim of a pending task by `agent`: running, attempts + 1, lease from now.
void apply_claim(Task& task, const Uuid& agent, Timestamp now);

// The holder is gone (its lease expired, or it was deleted): back to pending while attempts
// remain, else failed with result {"error": reason}. agent_id is kept only when failing.
// `reason` must be plain text needing no JSON escaping.
void apply_release(Task& task, std::string_view reason, Timestamp now);

}  // namespace taskd::model
