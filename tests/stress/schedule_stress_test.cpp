// Scheduling under concurrency, without HTTP (issue 23): claims by tenant and shared agents,
// in both shared orders, over tasks of every priority, a third of them delayed, while a producer
// creates more and a timer thread moves the clock and releases what is due (as the server's
// DelayTimer does; claims release too). Afterwards: every task was claimed exactly once, and
// none before its not_before (a claim's time, the task's updated_at, is read after it won).
#include "auth/token.hpp"
#include "journal/change_log.hpp"
#include "store/store.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace taskd;
using std::chrono::milliseconds;

constexpr std::size_t kTenants = 4;
constexpr std::size_t kUpfront = 3000;  // created before the threads start
constexpr std::size_t kProduced = 2000;  // created while they run
constexpr int kSpreadMs = 200;           // delayed tasks are due within this of the start

struct Claimed {
    model::Uuid id{};
    model::Timestamp at{};
    model::Timestamp not_before{};
};

void run(model::SharedClaimOrder order) {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    const auto start = clock.now();
    journal::MemoryLog log;
    store::Store store{clock, log};
    store.set_shared_claim_order(order);

    std::vector<model::Uuid> tenants;
    for (std::size_t i = 0; i < kTenants; ++i) tenants.push_back(model::random_uuid());
    std::vector<model::Agent> agents;
    for (std::size_t i = 0; i < kTenants; ++i)
        agents.push_back(store.register_agent("t" + std::to_string(i), tenants[i], auth::hash_token("t" + std::to_string(i))).value().value);
    for (int i = 0; i < 2; ++i)
        agents.push_back(store.register_agent("s" + std::to_string(i), std::nullopt, auth::hash_token("s" + std::to_string(i))).value().value);

    std::mutex mutex;
    std::map<std::string, model::Timestamp> created;  // id -> not_before (kNoTime: none)
    auto create = [&](std::size_t i) {
        store::NewTask n;
        n.tenant_id = tenants[i % kTenants];
        n.type = "stress";
        n.payload = model::make_json_text("{}");
        n.schedule.priority = static_cast<std::uint8_t>(i % 10);
        if (i % 3 == 0) n.schedule.not_before = start + milliseconds{static_cast<int>(i % kSpreadMs)};
        const auto task = store.create_task(std::move(n)).value().value.task;
        std::lock_guard lock(mutex);
        created[model::to_string(task.id)] = task.schedule.not_before;
    };
    for (std::size_t i = 0; i < kUpfront; ++i) create(i);

    std::atomic<bool> producing{true};
    std::atomic<std::size_t> claimed_count{0};
    std::atomic<int> errors{0};  // claims refused, or a task of another tenant
    std::vector<Claimed> claims;
    std::latch go(static_cast<std::ptrdiff_t>(agents.size() + 2));
    std::vector<std::thread> threads;
    threads.emplace_back([&] {  // the producer
        go.arrive_and_wait();
        for (std::size_t i = kUpfront; i < kUpfront + kProduced; ++i) create(i);
        producing = false;
    });
    threads.emplace_back([&] {  // the timer: moves the clock past every not_before, releasing
        go.arrive_and_wait();
        while ((producing || claimed_count.load() < kUpfront + kProduced) && errors.load() == 0) {
            if (clock.now() < start + milliseconds{kSpreadMs + 1}) clock.advance(std::chrono::microseconds{100});
            store.release_due();
            std::this_thread::yield();
        }
    });
    for (const model::Agent& agent : agents) {
        threads.emplace_back([&, agent] {
            go.arrive_and_wait();
            std::vector<Claimed> mine;
            while ((producing || claimed_count.load() < kUpfront + kProduced) && errors.load() == 0) {
                auto claimed = store.claim(agent);
                if (!claimed) {
                    ++errors;  // Boost.Test's checks are for the main thread: counted, checked below
                    break;
                }
                if (!claimed->value) {
                    std::this_thread::yield();
                    continue;
                }
                const model::Task& t = *claimed->value;
                if (agent.tenant_id && t.tenant_id != *agent.tenant_id) ++errors;
                mine.push_back({t.id, t.updated_at, t.schedule.not_before});
                claimed_count.fetch_add(1);
            }
            std::lock_guard lock(mutex);
            claims.insert(claims.end(), mine.begin(), mine.end());
        });
    }
    for (auto& t : threads) t.join();

    BOOST_TEST(errors.load() == 0);
    BOOST_TEST(claims.size() == kUpfront + kProduced);
    std::map<std::string, int> times;
    std::size_t early = 0, delayed = 0;
    for (const Claimed& c : claims) {
        const std::string id = model::to_string(c.id);
        ++times[id];
        BOOST_TEST_REQUIRE(created.count(id) == 1u);
        BOOST_TEST((c.not_before == created[id]));
        if (c.not_before != model::kNoTime) ++delayed;
        if (c.at < c.not_before) ++early;
    }
    std::size_t twice = 0;
    for (const auto& [id, n] : times) twice += n > 1;
    BOOST_TEST(twice == 0u);
    BOOST_TEST(times.size() == created.size());
    BOOST_TEST(early == 0u);
    BOOST_TEST(delayed == (kUpfront + kProduced + 2) / 3);
    BOOST_TEST(store.task_count_by_status()[0] == 0u);  // nothing left pending
}

}  // namespace

BOOST_AUTO_TEST_SUITE(schedule_stress)

BOOST_AUTO_TEST_CASE(every_task_claimed_once_never_before_its_time_oldest) { run(model::SharedClaimOrder::oldest); }

BOOST_AUTO_TEST_CASE(every_task_claimed_once_never_before_its_time_fair) { run(model::SharedClaimOrder::fair); }

BOOST_AUTO_TEST_SUITE_END()
