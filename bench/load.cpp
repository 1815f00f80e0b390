#include "bench/load.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace taskd::bench {
namespace net = boost::asio;

namespace {

// Longest part of a failed answer kept as its sample.
constexpr std::size_t kMaxSampleBytes = 300;

enum class Phase { setup, load };

struct ThreadSlot {
    std::unique_ptr<net::io_context> ioc;
    std::unique_ptr<Worker> worker;
    std::vector<std::unique_ptr<Session>> sessions;
};

// Runs one phase on every thread and returns when all sessions have finished it. Exceptions
// escaping a session are collected: in setup they abort the run, in load they count as failures.
// `on_tick` runs on the calling thread about once a second until then.
std::vector<std::string> run_phase(std::vector<ThreadSlot>& slots, Phase phase, const std::function<void()>& on_tick) {
    std::mutex mutex;
    std::condition_variable finished;
    std::size_t running = slots.size();
    std::vector<std::string> errors;

    std::vector<std::thread> threads;
    threads.reserve(slots.size());
    for (auto& slot : slots) {
        Worker& worker = *slot.worker;
        worker.watchdog().rearm();
        net::co_spawn(worker.executor(), worker.watchdog().run(), net::detached);
        auto remaining = std::make_shared<std::size_t>(slot.sessions.size());
        for (auto& session : slot.sessions) {
            auto body = phase == Phase::setup ? session->setup() : session->run(worker);
            net::co_spawn(worker.executor(), std::move(body), [&, remaining](std::exception_ptr e) {
                if (e) {
                    std::string what = "unknown exception";
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        what = ex.what();
                    } catch (...) {
                    }
                    if (phase == Phase::load) {
                        Outcome o;
                        o.failure = FailureKind::io;
                        o.step = "exception";
                        o.sample = what;
                        o.requests = 0;
                        worker.finish(SteadyClock::now(), o);
                    }
                    std::lock_guard lock(mutex);
                    errors.push_back(std::move(what));
                }
                if (--*remaining == 0) worker.watchdog().stop();
            });
        }
        threads.emplace_back([&, ioc = slot.ioc.get()] {
            ioc->restart();
            ioc->run();
            std::lock_guard lock(mutex);
            --running;
            finished.notify_all();
        });
    }
    {
        std::unique_lock lock(mutex);
        while (running > 0) {
            if (finished.wait_for(lock, std::chrono::seconds{1}, [&] { return running == 0; })) break;
            if (on_tick) {
                lock.unlock();
                on_tick();
                lock.lock();
            }
        }
    }
    for (auto& t : threads) t.join();
    return errors;
}

}  // namespace

std::string Outcome::key() const {
    std::string k;
    switch (failure) {
        case FailureKind::none: k = "ok"; break;
        case FailureKind::status: k = "HTTP " + std::to_string(status); break;
        case FailureKind::body: k = "wrong body"; break;
        case FailureKind::io: k = "connection error"; break;
        case FailureKind::timeout: k = "timeout"; break;
    }
    return step.empty() ? k : step + ": " + k;
}

void RunStats::merge(const RunStats& other) {
    latency_ns.merge(other.latency_ns);
    ok += other.ok;
    failed += other.failed;
    requests += other.requests;
    for (const auto& [k, n] : other.errors) errors[k] += n;
    for (const auto& [k, s] : other.error_samples) error_samples.emplace(k, s);
    for (const auto& [k, n] : other.counters) counters[k] += n;
    elapsed = std::max(elapsed, other.elapsed);
}

net::awaitable<void> ScheduledSession::run(Worker& worker) {
    // take_slot rather than next_slot: a closed loop then costs no coroutine frame per operation.
    for (;;) {
        bool wait = false;
        const auto due = worker.take_slot(wait);
        if (!due) break;
        if (wait) {
            timer_.expires_at(*due);
            co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
            if (worker.stopping()) break;
        }
        Outcome outcome = co_await operation();
        worker.finish(*due, outcome);
    }
}

Worker::Worker(net::any_io_executor executor, RunShared& shared, SteadyClock::duration timeout)
    : executor_(executor), shared_(shared), watchdog_(executor, timeout, shared.stop) {}

std::optional<SteadyClock::time_point> Worker::take_slot(bool& wait) {
    wait = false;
    if (stopping()) return std::nullopt;
    const std::uint64_t k = shared_.issued.fetch_add(1, std::memory_order_relaxed);
    if (shared_.budget && k >= *shared_.budget) return std::nullopt;
    const auto now = SteadyClock::now();
    if (shared_.interval_ns <= 0) {
        if (shared_.deadline && now >= *shared_.deadline) return std::nullopt;
        return now;
    }
    const auto due = shared_.start + std::chrono::duration_cast<SteadyClock::duration>(
                                         std::chrono::duration<double, std::nano>(shared_.interval_ns * static_cast<double>(k)));
    // Past the deadline nothing more starts, even operations that fell due before it and were
    // never sent because the system could not keep up: run_load counts those as missed.
    if (shared_.deadline && (due >= *shared_.deadline || now >= *shared_.deadline)) return std::nullopt;
    shared_.started.fetch_add(1, std::memory_order_relaxed);
    wait = due > now;
    return due;
}

net::awaitable<std::optional<SteadyClock::time_point>> Worker::next_slot(net::steady_timer& timer) {
    bool wait = false;
    const auto due = take_slot(wait);
    if (wait) {
        timer.expires_at(*due);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        if (stopping()) co_return std::nullopt;
    }
    co_return due;
}

void Worker::finish(SteadyClock::time_point due, const Outcome& o) {
    const auto now = SteadyClock::now();
    last_answer_ = now;
    stats_.requests += o.requests;
    if (o.is_ok()) {
        const auto latency = o.latency ? *o.latency : now - due;
        stats_.latency_ns.record(static_cast<std::uint64_t>(
            std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count())));
        ++stats_.ok;
        shared_.ok.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const std::string key = o.key();
    ++stats_.failed;
    ++stats_.errors[key];
    if (!stats_.error_samples.contains(key)) stats_.error_samples[key] = o.sample.substr(0, kMaxSampleBytes);
    shared_.failed.fetch_add(1, std::memory_order_relaxed);
}

RunStats run_load(Scenario& scenario, const LoadPlan& plan) {
    if (!plan.duration && !plan.operations) throw std::runtime_error("a run needs a duration or a number of requests");
    if (plan.connections == 0) throw std::runtime_error("a run needs at least one connection");
    if (plan.rate < 0) throw std::runtime_error("the rate cannot be negative");
    scenario.prepare(plan);

    RunShared shared;
    shared.budget = plan.operations;
    shared.interval_ns = plan.rate > 0 ? 1e9 / plan.rate : 0.0;
    const std::size_t session_count = scenario.session_count(plan);
    const std::size_t thread_count = std::clamp<std::size_t>(plan.threads, 1, session_count);

    std::vector<ThreadSlot> slots(thread_count);
    for (auto& slot : slots) {
        // Each io_context is run by exactly one thread and nothing is posted to it from another
        // (the threads share only atomics), so Asio's internal locking can go.
        slot.ioc = std::make_unique<net::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE);
        slot.worker = std::make_unique<Worker>(slot.ioc->get_executor(), shared, plan.timeout);
    }
    for (std::size_t i = 0; i < session_count; ++i) {
        auto& slot = slots[i % thread_count];
        slot.sessions.push_back(scenario.make_session(i, *slot.worker));
    }

    if (auto errors = run_phase(slots, Phase::setup, {}); !errors.empty())
        throw std::runtime_error("setup failed (" + std::to_string(errors.size()) + " sessions): " + errors.front());

    shared.start = SteadyClock::now();
    if (plan.duration) shared.deadline = shared.start + *plan.duration;
    auto tick = [&] {
        if (!plan.on_progress) return;
        Progress p;
        p.elapsed = SteadyClock::now() - shared.start;
        p.ok = shared.ok.load(std::memory_order_relaxed);
        p.failed = shared.failed.load(std::memory_order_relaxed);
        plan.on_progress(p);
    };
    run_phase(slots, Phase::load, tick);

    RunStats total;
    SteadyClock::time_point last = shared.start;
    for (auto& slot : slots) {
        total.merge(slot.worker->stats());
        last = std::max(last, slot.worker->last_answer());
    }
    total.elapsed = last - shared.start;
    if (plan.rate > 0 && plan.duration) {
        // Operations the schedule held before the deadline that never started: the system (or
        // the connections) could not keep up with the rate. Not failures, but not hidden either.
        auto due = static_cast<std::uint64_t>(plan.rate * std::chrono::duration<double>(*plan.duration).count());
        if (plan.operations) due = std::min(due, *plan.operations);
        const auto started = shared.started.load();
        if (due > started) total.counters["missed_slots"] = due - started;
    }
    scenario.finish(total);
    return total;
}

}  // namespace taskd::bench
