// store/store list_tasks: every filter, the narrowest-index choice and paging, checked against a
// brute-force filter over all tasks (a few hundred tasks, random tenants, statuses, types,
// holders and created_at ties, from a fixed seed).
#include "store_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace taskd;
using model::Status;
using model::Task;
using model::Uuid;
using store::TaskFilter;
using store::TaskKey;

constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

// Newest first: created_at descending, then id descending (canonical text orders as bytes do).
bool newer(const Task& a, const Task& b) {
    return std::make_tuple(model::to_micros(a.created_at), model::to_string(a.id)) >
           std::make_tuple(model::to_micros(b.created_at), model::to_string(b.id));
}

bool before_key(const Task& t, const TaskKey& after) {
    return std::make_tuple(model::to_micros(t.created_at), model::to_string(t.id)) <
           std::make_tuple(after.created_us, model::to_string(after.id));
}

std::string describe(const TaskFilter& f) {
    std::ostringstream out;
    out << "tenant=" << (f.tenant_id ? model::to_string(*f.tenant_id).substr(0, 8) : "-")
        << " status=" << (f.status ? model::to_string(*f.status) : "-")
        << " agent=" << (f.agent_id ? model::to_string(*f.agent_id).substr(0, 8) : "-") << " type=" << f.type.value_or("-");
    return out.str();
}

struct Generated : test::StoreFixture {
    std::vector<Uuid> tenants;
    std::vector<model::Agent> agents;
    std::vector<Uuid> ids;
    std::mt19937 rng{20240229};

    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }

    Generated() {
        for (int i = 0; i < 3; ++i) tenants.push_back(model::random_uuid());
        for (const Uuid& t : tenants) agents.push_back(agent(t));
        agents.push_back(agent(std::nullopt));
        agents.push_back(agent(std::nullopt));
        const char* types[] = {"A", "B", "C"};
        for (int i = 0; i < 300; ++i) {
            ids.push_back(create(tenants[pick(3)], types[pick(3)]).id);
            tick(std::chrono::microseconds{pick(3)});  // 0: a tie with the next task
        }
        claims(200);
        for (const Uuid& id : ids) {
            const Task t = task(id);
            if (t.status != Status::running) continue;
            const model::Agent holder =
                *std::find_if(agents.begin(), agents.end(), [&](const model::Agent& a) { return a.id == *t.agent_id; });
            switch (pick(4)) {
                case 0: break;
                case 1: BOOST_TEST_REQUIRE(admin_patch(id, Status::completed).has_value()); break;
                case 2: BOOST_TEST_REQUIRE(patch(id, {Status::failed, {}}, holder).has_value()); break;
                default: BOOST_TEST_REQUIRE(admin_patch(id, Status::failed).has_value()); break;
            }
        }
        for (const Uuid& id : ids)
            if (model::is_final(task(id).status) && pick(4) == 0)
                BOOST_TEST_REQUIRE(admin_patch(id, Status::pending).has_value());
        for (const Uuid& id : ids)
            if (task(id).status == Status::pending && pick(5) == 0)
                BOOST_TEST_REQUIRE(admin_patch(id, Status::failed).has_value());
        claims(40);  // some re-queued tasks go to other agents
    }

    void claims(int n) {
        for (int i = 0; i < n; ++i) {
            tick();
            BOOST_TEST_REQUIRE(claim(agents[pick(agents.size())]).has_value());
        }
    }

    std::vector<Task> snapshot() const {
        std::vector<Task> all;
        for (const Uuid& id : ids) all.push_back(task(id));
        return all;
    }

    // What list_tasks must give: a plain filter and sort over every task.
    static std::vector<std::string> brute(const std::vector<Task>& all, const TaskFilter& f,
                                          const std::optional<TaskKey>& after) {
        std::vector<Task> hits;
        for (const Task& t : all) {
            if (f.tenant_id && t.tenant_id != *f.tenant_id) continue;
            if (f.status && t.status != *f.status) continue;
            if (f.agent_id && t.agent_id != f.agent_id) continue;
            if (f.type && t.type != *f.type) continue;
            if (after && !before_key(t, *after)) continue;
            hits.push_back(t);
        }
        std::sort(hits.begin(), hits.end(), newer);
        std::vector<std::string> out;
        for (const Task& t : hits) out.push_back(model::to_string(t.id));
        return out;
    }

    std::vector<std::string> list(const TaskFilter& f, const std::optional<TaskKey>& after, std::size_t limit,
                                  bool& more, std::optional<TaskKey>* last = nullptr) const {
        std::vector<std::string> out;
        more = store.list_tasks(f, after, limit, [&](const Task& t) {
            out.push_back(model::to_string(t.id));
            if (last) *last = store::key_of(t);
        });
        return out;
    }

    std::vector<TaskFilter> filters() const {
        std::vector<std::optional<Uuid>> tenant_opts{std::nullopt, model::random_uuid()};
        for (const Uuid& t : tenants) tenant_opts.push_back(t);
        std::vector<std::optional<Status>> status_opts{std::nullopt};
        for (Status s : model::kAllStatuses) status_opts.push_back(s);
        std::vector<std::optional<Uuid>> agent_opts{std::nullopt, model::random_uuid()};
        for (const auto& a : agents) agent_opts.push_back(a.id);
        const std::vector<std::optional<std::string>> type_opts{std::nullopt, "A", "B", "C", "Z"};
        std::vector<TaskFilter> out;
        for (const auto& t : tenant_opts)
            for (const auto& s : status_opts)
                for (const auto& a : agent_opts)
                    for (const auto& ty : type_opts) out.push_back(TaskFilter{t, s, a, ty, std::nullopt});
        return out;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store_list, Generated)

BOOST_AUTO_TEST_CASE(generated_data_covers_every_case) {
    const auto all = snapshot();
    for (Status s : model::kAllStatuses) {
        BOOST_TEST_CONTEXT(model::to_string(s)) {
            BOOST_TEST(std::count_if(all.begin(), all.end(), [&](const Task& t) { return t.status == s; }) > 10);
        }
    }
    std::size_t ties = 0;
    for (std::size_t i = 1; i < all.size(); ++i) ties += all[i].created_at == all[i - 1].created_at;
    BOOST_TEST(ties > 10u);
    BOOST_TEST(std::count_if(all.begin(), all.end(), [](const Task& t) {
                   return t.status == Status::completed && t.agent_id.has_value();
               }) > 0);
    std::array<std::size_t, 4> counts{};
    for (const Task& t : all) ++counts[static_cast<std::size_t>(t.status)];
    BOOST_TEST((store.task_count_by_status() == counts));
}

BOOST_AUTO_TEST_CASE(every_filter_matches_brute_force) {
    const auto all = snapshot();
    for (const TaskFilter& f : filters()) {
        BOOST_TEST_CONTEXT(describe(f)) {
            bool more = true;
            const auto got = list(f, std::nullopt, kNoLimit, more);
            BOOST_TEST(got == brute(all, f, std::nullopt));
            BOOST_TEST(!more);
        }
    }
}

BOOST_AUTO_TEST_CASE(pages_concatenate_to_the_full_list) {
    const auto all = snapshot();
    for (const TaskFilter& f : filters()) {
        const auto want = brute(all, f, std::nullopt);
        std::vector<std::size_t> sizes{7, 50, want.size() > 0 ? want.size() : 1};
        if (want.size() <= 40) sizes.push_back(1);
        for (std::size_t page : sizes) {
            BOOST_TEST_CONTEXT(describe(f) << " page " << page) {
                std::vector<std::string> joined;
                std::optional<TaskKey> after;
                for (int guard = 0; guard < 1000; ++guard) {
                    bool more = false;
                    std::optional<TaskKey> last;
                    const auto got = list(f, after, page, more, &last);
                    BOOST_TEST(got.size() <= page);
                    joined.insert(joined.end(), got.begin(), got.end());
                    BOOST_TEST(more == (joined.size() < want.size()));
                    if (!more) break;
                    BOOST_TEST_REQUIRE(got.size() == page);
                    after = last;
                }
                BOOST_TEST(joined == want);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(limit_zero_visits_nothing_and_says_whether_any_match) {
    const auto all = snapshot();
    for (const TaskFilter& f : filters()) {
        BOOST_TEST_CONTEXT(describe(f)) {
            bool more = false;
            BOOST_TEST(list(f, std::nullopt, 0, more).empty());
            BOOST_TEST(more == !brute(all, f, std::nullopt).empty());
        }
    }
}

// A cursor is a position, valid with any filters (API.md "Fine print"): `after` may be the key
// of a task that the filter does not select, or of no task at all.
BOOST_AUTO_TEST_CASE(after_any_position_with_any_filter) {
    const auto all = snapshot();
    std::vector<TaskKey> positions;
    for (int i = 0; i < 6; ++i) positions.push_back(store::key_of(all[pick(all.size())]));
    positions.push_back(TaskKey{model::to_micros(all[150].created_at), model::random_uuid()});  // no such task
    positions.push_back(TaskKey{std::numeric_limits<std::int64_t>::max(), Uuid{}});  // after everything
    positions.push_back(TaskKey{0, Uuid{}});                                         // before everything
    const auto all_filters = filters();
    for (const TaskKey& after : positions) {
        for (std::size_t i = 0; i < all_filters.size(); i += 3) {
            const TaskFilter& f = all_filters[i];
            BOOST_TEST_CONTEXT(describe(f) << " after " << after.created_us << "/" << model::to_string(after.id)) {
                bool more = true;
                BOOST_TEST(list(f, after, kNoLimit, more) == brute(all, f, after));
                BOOST_TEST(!more);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(ties_list_by_descending_id) {
    const auto all = snapshot();
    bool more = true;
    const auto got = list({}, std::nullopt, kNoLimit, more);
    BOOST_TEST_REQUIRE(got.size() == all.size());
    std::vector<Task> sorted = all;
    std::sort(sorted.begin(), sorted.end(), newer);
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        BOOST_TEST_CONTEXT("position " << i) { BOOST_TEST(got[i] == model::to_string(sorted[i].id)); }
    }
}

BOOST_AUTO_TEST_SUITE_END()
