#include "model/errc.hpp"

#include <stdexcept>

namespace taskd::model {
namespace {

class ErrcCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "taskd"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::validation: return "validation failed";
            case Errc::unauthorized: return "unauthorized";
            case Errc::forbidden: return "forbidden";
            case Errc::not_found: return "not found";
            case Errc::conflict: return "conflict";
            case Errc::lease_lost: return "lease lost";
            case Errc::journal_failed: return "journal failed";
            case Errc::unavailable: return "unavailable";
            case Errc::too_many: return "too many";
        }
        return "unknown taskd error";
    }
};

}  // namespace

const boost::system::error_category& errc_category() noexcept {
    static const ErrcCategory category;
    return category;
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
    throw std::logic_error("taskd: value() of a failed result: " + make_error_code(e.code).message() + ": " +
                           e.detail);
}

}  // namespace taskd::model
