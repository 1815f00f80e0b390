#include "model/transition.hpp"


#include <chrono>

namespace taskd::model {
namespace {

Error conflict(const Task& task, Status to) {
    return make_error(Errc::conflict, "Task " + to_string(task.id) + " cannot move from " +
                                          std::string(to_string(task.status)) + " to " + std::string(to_string(to)));
}

Timestamp lease_end(const Task& task, Timestamp now) { return now + std::chrono::seconds{task.lease_seconds}; }

}  // namespace

Result<Effect> decide(const Task& task, Status to, const Actor& actor) {
    const Status from = task.status;
    if (!actor.admin) {
        // An agent acts only on a task it holds now: a late agent (lease expired, re-queued,
        // cancelled, taken by another) must never overwrite the current holder's work.
        if (!held_by(task, actor.agent_id))
            return make_error(Errc::lease_lost, "Task " + to_string(task.id) + " is not held by this agent");
        if (to == Status::running) return Effect::heartbeat;
        if (is_final(to)) return Effect::finish;
        return conflict(task, to);
    }
    switch (from) {
        case Status::running:
            if (to == Status::running) return Effect::heartbeat;
            if (is_final(to)) return Effect::finish;
            break;
        case Status::pending:
            if (to == Status::failed) return Effect::cancel;
            if (to == Status::pending) return Effect::result_only;
            break;
        case Status::completed:
        case Status::failed:
            if (to == Status::pending) return Effect::requeue;
            if (to == from) return Effect::result_only;
            break;
    }
    return conflict(task, to);
}

Result<void> apply_patch(Task& task, const Patch& patch, const Actor& actor, Timestamp now) {
    const Status to = patch.status.value_or(task.status);
    auto effect = decide(task, to, actor);
    if (!effect) return effect.error();
    switch (*effect) {
        case Effect::heartbeat:
            task.lease_expires_at = lease_end(task, now);
            break;
        case Effect::finish:
        case Effect::cancel:
            task.lease_expires_at.reset();
            break;
        case Effect::requeue:
            task.agent_id.reset();
            task.result.reset();
            task.lease_expires_at.reset();
            task.attempts = 0;
            // Claimable at once, as a re-queue was before issue 23 (model/schedule.hpp).
            task.schedule.not_before = kNoTime;
            break;
        case Effect::result_only:
            break;
    }
    task.status = to;
    // A re-queue clears the result (API.md); every other allowed change replaces it if given.
    if (patch.result && *effect != Effect::requeue) task.result = patch.result;
    task.updated_at = now;
    ++task.version;
    return {};
}

void apply_claim(Task& task, const Uuid& agent, Timestamp now) {
    task.status = Status::running;
    task.agent_id = agent;
    task.attempts += 1;
    task.lease_expires_at = lease_end(task, now);
    task.updated_at = now;
    ++task.version;
}

void apply_release(Task& task, std::string_view reason, Timestamp now) {
    task.lease_expires_at.reset();
    // It was claimable when claimed; back in the queue it is claimable at once.
    task.schedule.not_before = kNoTime;
    task.updated_at = now;
    ++task.version;
    if (task.attempts < task.max_attempts) {
        task.status = Status::pending;
        task.agent_id.reset();
        return;
    }
    task.status = Status::failed;
    // `reason` is one of our own fixed phrases ("lease expired"): nothing to escape.
    task.result = make_json_text("{\"error\":\"" + std::string(reason) + "\"}");
}

}  // namespace taskd::model
