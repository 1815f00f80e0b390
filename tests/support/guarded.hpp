// Client threads in tests: Boost.Test's assertions are for the main thread only, so a thread runs
// its work through guarded(), which keeps what it threw for the main thread to report.
#pragma once

#include <exception>
#include <mutex>
#include <string>
#include <vector>

namespace taskd::test {

// Runs `body`; an exception (from HttpClient, or thrown by `body` for a wrong answer) is appended
// to `errors` under `mutex`.
template <class Body>
void guarded(std::mutex& mutex, std::vector<std::string>& errors, Body body) {
    try {
        body();
    } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        errors.push_back(e.what());
    }
}

}  // namespace taskd::test
