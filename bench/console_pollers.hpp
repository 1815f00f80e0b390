// ConsolePollers: open operator consoles beside a load run (--console-pollers N). Each polls
// GET /stats every 2 s with the admin token, as the console's overview does (ui/app.js), on a
// keep-alive connection of its own. They are not part of the run's figures: they are the
// background whose cost a run with them, compared with one without, measures (GET /stats takes
// the store's lock exclusively, like a change).
//
// Runs on one thread of its own, started by the constructor and joined by stop(); not
// thread-safe otherwise.
#pragma once

#include "bench/api_client.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace taskd::bench {

class ConsolePollers {
public:
    // The console's refresh period.
    static constexpr std::chrono::milliseconds kInterval{2000};

    ConsolePollers(const Target& target, std::size_t count);
    ~ConsolePollers();
    ConsolePollers(const ConsolePollers&) = delete;
    ConsolePollers& operator=(const ConsolePollers&) = delete;

    struct Counts {
        std::uint64_t polls = 0;   // answered 200
        std::uint64_t failed = 0;  // any other answer, or no answer
    };
    // What they did so far (from any thread).
    Counts counts() const;
    // Stops every poller (a poll in flight is abandoned) and returns what they did.
    Counts stop();

    struct State;  // the io thread's (console_pollers.cpp)

private:
    std::unique_ptr<State> state_;
    std::thread thread_;
};

}  // namespace taskd::bench
