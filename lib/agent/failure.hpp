// Failure: why a task (or one step of it) could not be done, as a value. Its message is what the
// task's result says in "error"; `extra` adds fields to that result (a command's exit code and
// output). Every executor returns Outcome<T>: the value, or a Failure.
#pragma once

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>

namespace taskd::agent {

struct Failure {
    std::string message;
    boost::json::object extra;
};

template <class T>
using Outcome = boost::system::result<T, Failure>;

inline Failure fail(std::string message) { return Failure{std::move(message), {}}; }

// boost::system::result calls this when value() is used on a failure; inside lib/ we check first.
[[noreturn]] inline void throw_exception_from_error(const Failure& f, const boost::source_location&) {
    throw std::runtime_error(f.message);
}

}  // namespace taskd::agent
