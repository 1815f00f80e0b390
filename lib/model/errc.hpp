// Errc: the failures that callers inside lib/ must handle, as values.
//
// They are registered as a boost::system error category (as Beast's http/error.hpp does), so an
// Errc converts to an error_code. `Error` adds what the client is told (detail text, field
// errors); api/error_response maps it to an HTTP status and body in one place.
#pragma once

#include "model/field_error.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace taskd::model {

enum class Errc {
    validation = 1,     // the request is well-formed HTTP but its content is not acceptable (422)
    unauthorized,       // missing or invalid credentials (401)
    forbidden,          // valid credentials that may not use this endpoint (403)
    not_found,          // (404)
    conflict,           // the transition is not allowed from the task's state (409)
    lease_lost,         // an agent acts on a task it does not hold now (409)
    journal_failed,     // the change could not be made durable (503, sticky)
    unavailable,        // temporarily unable to serve (503)
    too_many,           // a per-client bound is reached: --max-pending-per-tenant (429)
};

const boost::system::error_category& errc_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), errc_category()};
}

struct Error {
    Errc code;
    std::string detail;        // for every code but validation
    FieldErrors fields;        // for validation
};

inline Error make_error(Errc code, std::string detail) { return Error{code, std::move(detail), {}}; }
inline Error validation_error(FieldErrors fields) { return Error{Errc::validation, {}, std::move(fields)}; }

template <class T>
using Result = boost::system::result<T, Error>;

// boost::system::result calls this when value() is used on an error; inside lib/ we check first.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

}  // namespace taskd::model

template <>
struct boost::system::is_error_code_enum<taskd::model::Errc> : std::true_type {};
