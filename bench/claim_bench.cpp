// taskd-claim-bench: the claim structure against the alternatives, plain pops from a full FIFO.
//
//   taskd-claim-bench [--items N] [--threads 1,2,4,8]
//
// For each thread count, N entries are popped until the FIFO is empty, by every thread at once:
//   fetch_add    a bare atomic index over an array: the physical limit of a shared FIFO
//   claim_queue  taskd's ClaimQueue::pop plus the compare-and-swap on the task's state word
//                that wins the task: what a claim does besides journaling it
//   mutex_deque  std::mutex + std::deque<TaskSlot*>, marking the task claimed under the lock:
//                the obvious design, doing the same work as claim_queue
//   lockfree     boost::lockfree::queue<TaskSlot*>: a general-purpose lock-free queue
// Prints pops per second (millions). The figures in BENCHMARKS.md come from this program.
#include "store/claim_queue.hpp"
#include "store/task_slot.hpp"

#include <boost/lockfree/queue.hpp>

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

// Runs `pop` on `threads` threads released together; returns pops per second.
template <class Pop>
double run(unsigned threads, std::size_t items, Pop pop) {
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false};
    std::atomic<std::size_t> popped{0};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
            std::size_t mine = 0;
            while (pop()) ++mine;
            popped.fetch_add(mine);
        });
    while (ready.load() < threads) std::this_thread::yield();
    const auto start = Clock::now();
    go.store(true, std::memory_order_release);
    for (auto& t : pool) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (popped.load() != items) {
        std::fprintf(stderr, "popped %zu of %zu\n", popped.load(), items);
        std::exit(1);
    }
    return static_cast<double>(items) / seconds;
}

std::vector<std::unique_ptr<store::TaskSlot>> make_slots(std::size_t n) {
    std::vector<std::unique_ptr<store::TaskSlot>> slots;
    slots.reserve(n);
    const auto payload = model::make_json_text("{}");
    for (std::size_t i = 0; i < n; ++i) {
        model::Task t;
        t.id.data[0] = static_cast<std::uint8_t>(i);
        t.created_at = model::from_micros(static_cast<std::int64_t>(i));
        t.payload = payload;
        slots.push_back(std::make_unique<store::TaskSlot>(new store::TaskVersion(std::move(t))));
    }
    return slots;
}

void reset(std::vector<std::unique_ptr<store::TaskSlot>>& slots) {
    for (auto& s : slots) s->word.store(store::make_word(1, model::Status::pending));
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t items = 4'000'000;
    std::vector<unsigned> thread_counts{1, 2, 4, 8};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--items") items = std::stoul(argv[i + 1]);
        else if (flag == "--threads") {
            thread_counts.clear();
            std::stringstream list(argv[i + 1]);
            for (std::string n; std::getline(list, n, ',');) thread_counts.push_back(static_cast<unsigned>(std::stoul(n)));
        } else {
            std::fprintf(stderr, "usage: taskd-claim-bench [--items N] [--threads 1,2,4,8]\n");
            return 2;
        }
    }
    auto slots = make_slots(items);
    std::printf("pops per second, millions (%zu entries, %u cores)\n", items, std::thread::hardware_concurrency());
    std::printf("%-8s %12s %12s %12s %12s\n", "threads", "fetch_add", "claim_queue", "mutex_deque", "lockfree");
    for (unsigned threads : thread_counts) {
        // fetch_add: the limit.
        std::vector<store::TaskSlot*> array;
        for (auto& s : slots) array.push_back(s.get());
        std::atomic<std::size_t> next{0};
        const double bare = run(threads, items, [&] {
            const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
            return i < array.size() && array[i] != nullptr;
        });

        // taskd's claim structure: pop, then win the task by CAS on its word.
        reset(slots);
        store::ClaimQueue queue{0};
        for (auto& s : slots) queue.push(s.get());
        const double claim = run(threads, items, [&] {
            for (;;) {
                store::TaskSlot* s = queue.pop();
                if (!s) return false;
                std::uint64_t word = s->word.load(std::memory_order_acquire);
                if (store::status_of(word) != model::Status::pending) continue;
                if (s->word.compare_exchange_strong(word, store::make_word(store::version_of(word) + 1, model::Status::running),
                                                    std::memory_order_acq_rel))
                    return true;
            }
        });

        std::mutex mutex;
        std::deque<store::TaskSlot*> deque(array.begin(), array.end());
        reset(slots);
        const double locked = run(threads, items, [&] {
            std::lock_guard lock(mutex);
            if (deque.empty()) return false;
            store::TaskSlot* s = deque.front();
            deque.pop_front();
            const std::uint64_t word = s->word.load(std::memory_order_relaxed);
            s->word.store(store::make_word(store::version_of(word) + 1, model::Status::running), std::memory_order_relaxed);
            return true;
        });

        boost::lockfree::queue<store::TaskSlot*> lockfree(items);
        for (auto* s : array) lockfree.bounded_push(s);
        const double general = run(threads, items, [&] {
            store::TaskSlot* s = nullptr;
            return lockfree.pop(s);
        });

        std::printf("%-8u %12.1f %12.1f %12.1f %12.1f\n", threads, bare / 1e6, claim / 1e6, locked / 1e6, general / 1e6);
    }
    return 0;
}
