// taskd-claim-bench: the claim structure against the alternatives, plain pops from a full FIFO.
//
//   taskd-claim-bench [--items N] [--rounds N] [--threads 1,2,4,8]
//
// For each thread count, N entries are popped until the FIFO is empty, by every thread at once;
// each figure is the median of --rounds such runs (default 5), the FIFO filled again before each:
//   fetch_add    a bare atomic index over an array: the physical limit of a shared FIFO
//   claim_queue  taskd's ClaimQueue::pop plus the compare-and-swap on the task's state word
//                that wins the task: what a claim does besides journaling it
//   mutex_deque  std::mutex + std::deque<TaskSlot*>, marking the task claimed under the lock:
//                the obvious design, doing the same work as claim_queue
//   lockfree     boost::lockfree::queue<TaskSlot*>, marking the task claimed: a general-purpose
//                lock-free queue doing the same work
// Prints pops per second (millions). The figures in BENCHMARKS.md come from this program.
#include "store/claim_queue.hpp"
#include "store/task_slot.hpp"

#include <boost/lockfree/queue.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace taskd;

namespace {

using Clock = std::chrono::steady_clock;

// Runs `pop` on `threads` threads released together until it returns false; returns pops per
// second. The calling thread is one of them: with as many threads as cores, every one is on a
// core when the start is given (a waiting main thread would hold a core from one of them).
template <class Pop>
double run(unsigned threads, std::size_t items, Pop pop) {
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false};
    std::atomic<std::size_t> popped{0};
    const auto work = [&] {
        std::size_t mine = 0;
        while (pop()) ++mine;
        popped.fetch_add(mine);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back([&] {
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
            work();
        });
    while (ready.load() < threads - 1) std::this_thread::yield();
    const auto start = Clock::now();
    go.store(true, std::memory_order_release);
    work();
    for (auto& t : pool) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (popped.load() != items) {
        std::fprintf(stderr, "popped %zu of %zu\n", popped.load(), items);
        std::exit(1);
    }
    return static_cast<double>(items) / seconds;
}

// The median of `rounds` runs, each after `fill()` has made the FIFO full again.
template <class Fill, class Pop>
double median_of(unsigned rounds, unsigned threads, std::size_t items, Fill fill, Pop pop) {
    std::vector<double> rates;
    for (unsigned r = 0; r < rounds; ++r) {
        fill();
        rates.push_back(run(threads, items, pop));
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

std::vector<std::unique_ptr<store::TaskSlot>> make_slots(std::size_t n) {
    std::vector<std::unique_ptr<store::TaskSlot>> slots;
    slots.reserve(n);
    const auto payload = model::make_json_text("{}");
    static store::TypeNames types;
    for (std::size_t i = 0; i < n; ++i) {
        model::Task t;
        t.id.data[0] = static_cast<std::uint8_t>(i);
        t.created_at = model::from_micros(static_cast<std::int64_t>(i));
        t.payload = payload;
        slots.push_back(std::make_unique<store::TaskSlot>(std::move(t), types.acquire("bench")));
    }
    return slots;
}

void reset(std::vector<std::unique_ptr<store::TaskSlot>>& slots) {
    for (auto& s : slots) s->word.store(store::make_word(1, model::Status::pending));
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t items = 4'000'000;
    unsigned rounds = 5;
    std::vector<unsigned> thread_counts{1, 2, 4, 8};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--items") items = std::stoul(argv[i + 1]);
        else if (flag == "--rounds") rounds = static_cast<unsigned>(std::stoul(argv[i + 1]));
        else if (flag == "--threads") {
            thread_counts.clear();
            std::stringstream list(argv[i + 1]);
            for (std::string n; std::getline(list, n, ',');) thread_counts.push_back(static_cast<unsigned>(std::stoul(n)));
        } else {
            std::fprintf(stderr, "usage: taskd-claim-bench [--items N] [--rounds N] [--threads 1,2,4,8]\n");
            return 2;
        }
    }
    if (items == 0 || rounds == 0) {
        std::fprintf(stderr, "taskd-claim-bench: --items and --rounds must be at least 1\n");
        return 2;
    }
    auto slots = make_slots(items);
    std::vector<store::TaskSlot*> array;
    for (auto& s : slots) array.push_back(s.get());
    const auto claimed = [](store::TaskSlot* s) {
        const std::uint64_t word = s->word.load(std::memory_order_relaxed);
        s->word.store(store::make_word(store::version_of(word) + 1, model::Status::running), std::memory_order_relaxed);
    };

    std::printf("pops per second, millions (%zu entries, median of %u rounds, %u cores)\n", items, rounds,
                std::thread::hardware_concurrency());
    std::printf("%-8s %12s %12s %12s %12s\n", "threads", "fetch_add", "claim_queue", "mutex_deque", "lockfree");
    for (unsigned threads : thread_counts) {
        // fetch_add: the limit. It hands out indices and touches no task.
        std::atomic<std::size_t> next{0};
        const double bare = median_of(
            rounds, threads, items, [&] { next.store(0); },
            [&] {
                const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
                return i < array.size() && array[i] != nullptr;
            });

        // taskd's claim structure: pop, then win the task by CAS on its word.
        store::ClaimQueue queue;
        const double claim = median_of(
            rounds, threads, items,
            [&] {
                reset(slots);
                queue.clear();
                for (auto* s : array) queue.push(s);
            },
            [&] {
                for (;;) {
                    store::TaskSlot* s = queue.pop();
                    if (!s) return false;
                    std::uint64_t word = s->word.load(std::memory_order_acquire);
                    if (store::status_of(word) != model::Status::pending) continue;
                    if (s->word.compare_exchange_strong(
                            word, store::make_word(store::version_of(word) + 1, model::Status::running),
                            std::memory_order_acq_rel))
                        return true;
                }
            });

        // The same work under a lock: the pop, and the task marked claimed.
        std::mutex mutex;
        std::deque<store::TaskSlot*> deque;
        const double locked = median_of(
            rounds, threads, items,
            [&] {
                reset(slots);
                deque.assign(array.begin(), array.end());
            },
            [&] {
                std::lock_guard lock(mutex);
                if (deque.empty()) return false;
                claimed(deque.front());
                deque.pop_front();
                return true;
            });

        // A general-purpose lock-free queue, doing the same work.
        boost::lockfree::queue<store::TaskSlot*> lockfree(items);
        const double general = median_of(
            rounds, threads, items,
            [&] {
                reset(slots);
                for (auto* s : array) lockfree.bounded_push(s);
            },
            [&] {
                store::TaskSlot* s = nullptr;
                if (!lockfree.pop(s)) return false;
                claimed(s);
                return true;
            });

        std::printf("%-8u %12.1f %12.1f %12.1f %12.1f\n", threads, bare / 1e6, claim / 1e6, locked / 1e6, general / 1e6);
    }
    return 0;
}
