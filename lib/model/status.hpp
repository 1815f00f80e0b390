// Status: where a task is in its life.
//
//   pending --claim--> running --PATCH--> completed | failed
//      ^                  |                      |
//      +-- lease expiry --+-- admin re-queue ----+
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskd::model {

enum class Status : std::uint8_t { pending, running, completed, failed };

inline constexpr std::array kAllStatuses{Status::pending, Status::running, Status::completed, Status::failed};

constexpr std::string_view to_string(Status s) {
    switch (s) {
        case Status::pending: return "pending";
        case Status::running: return "running";
        case Status::completed: return "completed";
        case Status::failed: return "failed";
    }
    return "unknown";
}

constexpr std::optional<Status> parse_status(std::string_view text) {
    for (Status s : kAllStatuses)
        if (to_string(s) == text) return s;
    return std::nullopt;
}

constexpr bool is_final(Status s) { return s == Status::completed || s == Status::failed; }

}  // namespace taskd::model
