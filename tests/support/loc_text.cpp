#include "loc_text.hpp"

#include <sstream>
#include <variant>

namespace taskd::test {

std::string loc_text(const model::Loc& loc) {
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < loc.size(); ++i) {
        if (i) out << ',';
        if (const auto* s = std::get_if<std::string>(&loc[i])) out << '"' << *s << '"';
        else out << std::get<std::size_t>(loc[i]);
    }
    out << ']';
    return out.str();
}

}  // namespace taskd::test
