// loc_text: an error location as text, ["body","payload","sequence",0,"task"], so that tests
// compare locations with one string.
#pragma once

#include "model/field_error.hpp"

#include <string>

namespace taskd::test {

std::string loc_text(const model::Loc& loc);

}  // namespace taskd::test
