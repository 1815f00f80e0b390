// The claim invariant of the store stress test, checked two ways after a run: on the answers the
// store gave (each successful claim, holder PATCH and re-queue, recorded by the threads), and on
// the journal (every state of every task, in log order), which is also replayed into a fresh
// Store. Single-threaded; failures are counted, and the first described, rather than asserted
// one by one (Boost.Test's cost per assertion would dominate a run under ThreadSanitizer).
#pragma once

#include "../unit/journal/journal_support.hpp"
#include "journal/change.hpp"
#include "journal/record.hpp"
#include "store/store.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace taskd::test::claim_history {

using model::Status;
using model::Uuid;

enum class Kind { claim, holder_patch, requeue };

// A change the store reported as done, with the version and attempts it returned (agent: the
// claimer or the holder; nil for a re-queue).
struct Event { Uuid task, agent; std::uint64_t version; std::uint32_t attempts; Kind kind; };

// How many checks failed, and the first one.
struct Failures {
    std::size_t count = 0;
    std::string first;
    void add(const Uuid& task, const std::string& why) {
        if (count++ == 0) first = model::to_string(task) + ": " + why;
    }
};

// The claim invariant, on what the store answered. Every change of a task moves its version by
// exactly one, so two successful changes never return the same version: two claims with the same
// version would be two claims of one pending state (a double claim). In version order:
// - a claim is made only on a pending task and adds one attempt; between two of our recorded
//   changes, the unrecorded ones (lease expiry, agent deletion, admin cancel/finish, heartbeat)
//   never change attempts, and only a re-queue (recorded) resets them to 0. So each claim's
//   attempts is exactly one more than after the recorded change before it: two claims of the
//   same attempt mean the task was held twice at once.
// - a holder's successful PATCH is by the agent of the last claim before it, at that claim's
//   attempts, with no re-queue in between: a late holder never acts on the task.
// `events` are one task's.
inline void check_recorded(std::vector<Event>& events, Failures& failures) {
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.version < b.version; });
    std::uint32_t attempts = 0;
    std::optional<Uuid> holder;
    auto fail = [&](const Event& e, const std::string& why) {
        failures.add(e.task, "v" + std::to_string(e.version) + ": " + why);
    };
    for (std::size_t i = 0; i < events.size(); ++i) {
        const Event& e = events[i];
        if (i > 0 && events[i - 1].version == e.version) fail(e, "two successful changes returned one version");
        switch (e.kind) {
            case Kind::claim:
                if (e.attempts != attempts + 1)
                    fail(e, "claim at attempts " + std::to_string(e.attempts) + " after " + std::to_string(attempts));
                attempts = e.attempts;
                holder = e.agent;
                break;
            case Kind::requeue:
                attempts = 0;
                holder.reset();
                break;
            case Kind::holder_patch:
                if (holder != e.agent || e.attempts != attempts) fail(e, "PATCH by an agent that was not the holder");
                break;
        }
    }
}

// One task's state as the journal last showed it.
struct Seen { std::uint64_t version; Status status; std::optional<Uuid> agent; std::uint32_t attempts; };

// Whether `s` may follow `b` (API.md's transition table, claims and releases); "" when it may.
inline std::string step_error(const Seen& b, const journal::TaskState& s) {
    if (s.version != b.version + 1) return "version " + std::to_string(b.version) + " -> " + std::to_string(s.version);
    const bool same_holder = s.agent_id == b.agent && s.attempts == b.attempts;
    bool ok = false;
    switch (b.status) {
        case Status::pending:
            ok = (s.status == Status::running && s.agent_id && s.attempts == b.attempts + 1) ||
                 ((s.status == Status::failed || s.status == Status::pending) && s.attempts == b.attempts);
            break;
        case Status::running:  // heartbeat, finish, release (agent cleared unless it fails)
            ok = (s.status != Status::pending && same_holder) ||
                 (s.status == Status::pending && !s.agent_id && s.attempts == b.attempts);
            break;
        case Status::completed:
        case Status::failed:  // re-queue, or a result-only change
            ok = (s.status == Status::pending && !s.agent_id && s.attempts == 0) ||
                 (s.status == b.status && same_holder);
            break;
    }
    return ok ? "" : std::string("illegal step ") + std::string(model::to_string(b.status)) + " -> " +
                         std::string(model::to_string(s.status));
}

// One pass over the journal: every task's states, in log order, must be one version apart and
// legal steps (so no running task changes hands without going back to pending); each record
// is applied to `into` as well, as recovery does (through a Store::Replay).
struct JournalWalk {
    std::size_t records = 0;
    bool unreadable = false;  // a record that does not parse, decode or follow in sequence
    Failures bad_steps;
};

inline JournalWalk walk_and_replay(std::string_view rest, store::Store& into) {
    JournalWalk out;
    std::unordered_map<Uuid, Seen, store::UuidHash> seen;
    auto step = [&](const journal::TaskState& s) {
        auto it = seen.find(s.id);
        const std::string why = it == seen.end() ? "change of an unknown task" : step_error(it->second, s);
        if (!why.empty()) out.bad_steps.add(s.id, why);
        if (it != seen.end()) it->second = Seen{s.version, s.status, s.agent_id, s.attempts};
    };
    store::Store::Replay replay(into);
    while (!rest.empty()) {
        journal::RecordView r;
        std::optional<journal::Change> change;
        if (journal::parse_record(test::bytes_of(rest), r) == journal::ParseResult::ok)
            change = journal::decode_change(r.type, r.payload);
        if (!change || r.sequence != out.records + 1) {
            out.unreadable = true;
            break;
        }
        if (auto* c = std::get_if<journal::TaskCreated>(&*change))
            seen[c->task.id] = Seen{c->task.version, c->task.status, c->task.agent_id, c->task.attempts};
        if (auto* c = std::get_if<journal::TaskChanged>(&*change)) step(c->state);
        if (auto* c = std::get_if<journal::AgentDeleted>(&*change))
            for (const auto& s : c->released) step(s);
        replay.apply(std::move(*change));
        rest.remove_prefix(r.size);
        ++out.records;
    }
    return out;
}

}  // namespace taskd::test::claim_history
