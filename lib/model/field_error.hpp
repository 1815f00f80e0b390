// FieldError: one validation failure, in the shape FastAPI reports it:
//   {"loc": ["body", "payload", "path"], "msg": "...", "type": "..."}
// `loc` starts with where the value came from ("body", "query", "path", "header").
#pragma once

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace taskd::model {

using LocPart = std::variant<std::string, std::size_t>;
using Loc = std::vector<LocPart>;

struct FieldError {
    Loc loc;
    std::string msg;
    std::string type;
};

using FieldErrors = std::vector<FieldError>;

inline Loc child(const Loc& parent, LocPart part) {
    Loc loc = parent;
    loc.push_back(std::move(part));
    return loc;
}

}  // namespace taskd::model
