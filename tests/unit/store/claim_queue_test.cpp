// store/claim_queue: the lock-free FIFO of TaskSlot* the claims pop. Single-threaded here: the
// order of push, put_back and remove_if, pops of an empty queue, and compaction. Concurrent
// claims through two queues are in claim_race_test.cpp.
#include "store/claim_queue.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <vector>

namespace {

using namespace taskd;
using store::ClaimQueue;
using store::TaskSlot;

// Slots with chosen keys. A slot is named by a label; its key is (created_us, id) where the id's
// last two bytes hold `id_rank` big-endian, so ids compare (as the queue does: memcmp) by rank.
class Slots {
public:
    TaskSlot* make(int label, std::int64_t created_us, std::uint16_t id_rank = 0) {
        model::Task t;
        t.created_at = t.updated_at = model::from_micros(created_us);
        t.id.data[14] = static_cast<std::uint8_t>(id_rank >> 8);
        t.id.data[15] = static_cast<std::uint8_t>(id_rank & 0xff);
        t.id.data[0] = 0x42;  // never the nil uuid
        auto slot = std::make_unique<TaskSlot>(std::move(t), types_.acquire(""));
        TaskSlot* raw = slot.get();
        labels_[raw] = label;
        slots_.push_back(std::move(slot));
        return raw;
    }
    int label(const TaskSlot* s) const { return labels_.at(s); }

    // Pops until the queue answers nullptr; the labels in pop order.
    std::vector<int> drain(ClaimQueue& q) const {
        std::vector<int> out;
        while (TaskSlot* s = q.pop()) out.push_back(label(s));
        return out;
    }
    // Pops exactly n entries (each must be there); their labels.
    std::vector<int> pop_n(ClaimQueue& q, std::size_t n) const {
        std::vector<int> out;
        for (std::size_t i = 0; i < n; ++i) {
            TaskSlot* s = q.pop();
            BOOST_TEST_REQUIRE(s != nullptr);
            out.push_back(label(s));
        }
        return out;
    }

private:
    store::TypeNames types_;  // outlives the slots that name it
    std::vector<std::unique_ptr<TaskSlot>> slots_;
    std::map<const TaskSlot*, int> labels_;
};

using Labels = std::vector<int>;

}  // namespace

BOOST_AUTO_TEST_SUITE(claim_queue)

BOOST_AUTO_TEST_CASE(pops_in_push_order) {
    Slots s;
    ClaimQueue q;
    BOOST_TEST(q.waiting() == 0u);
    for (int i = 1; i <= 5; ++i) q.push(s.make(i, 100 * i));
    BOOST_TEST(q.waiting() == 5u);
    BOOST_TEST(s.pop_n(q, 2) == (Labels{1, 2}), boost::test_tools::per_element());
    BOOST_TEST(q.waiting() == 3u);
    BOOST_TEST(s.drain(q) == (Labels{3, 4, 5}), boost::test_tools::per_element());
    BOOST_TEST(q.waiting() == 0u);
    BOOST_TEST(q.pop() == nullptr);
}

BOOST_AUTO_TEST_CASE(pop_on_empty_does_not_run_away) {
    Slots s;
    ClaimQueue q;
    for (int i = 0; i < 10'000; ++i) BOOST_TEST_REQUIRE(q.pop() == nullptr);
    BOOST_TEST(q.waiting() == 0u);
    q.push(s.make(1, 100));
    BOOST_TEST(q.waiting() == 1u);
    TaskSlot* first = q.pop();
    BOOST_TEST_REQUIRE(first != nullptr);
    BOOST_TEST(s.label(first) == 1);

    // Drained once; idle claimers keep popping; the next task must still be found.
    for (int i = 0; i < 10'000; ++i) BOOST_TEST_REQUIRE(q.pop() == nullptr);
    q.push(s.make(2, 200));
    q.push(s.make(3, 300));
    BOOST_TEST(q.waiting() == 2u);
    BOOST_TEST(s.drain(q) == (Labels{2, 3}), boost::test_tools::per_element());
    // And a put_back after idle pops lands where the next pop finds it.
    for (int i = 0; i < 100; ++i) BOOST_TEST_REQUIRE(q.pop() == nullptr);
    q.put_back(first);
    BOOST_TEST(q.waiting() == 1u);
    BOOST_TEST(s.drain(q) == (Labels{1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(put_back_of_an_older_slot_goes_before_the_waiting_ones) {
    Slots s;
    ClaimQueue q;
    TaskSlot* a = s.make(1, 100);
    TaskSlot* b = s.make(2, 200);
    q.push(a);
    q.push(b);
    q.push(s.make(3, 300));
    q.push(s.make(4, 400));
    BOOST_TEST(s.pop_n(q, 2) == (Labels{1, 2}), boost::test_tools::per_element());
    q.put_back(a);  // head > 0 and older than every waiting entry: the O(1) path
    BOOST_TEST(q.waiting() == 3u);
    BOOST_TEST(s.drain(q) == (Labels{1, 3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(several_put_backs_keep_key_order) {
    for (const bool younger_first : {true, false}) {
        BOOST_TEST_CONTEXT("younger put back first: " << younger_first) {
            Slots s;
            ClaimQueue q;
            TaskSlot* a = s.make(1, 100);
            TaskSlot* b = s.make(2, 200);
            TaskSlot* c = s.make(3, 300);
            for (TaskSlot* x : {a, b, c}) q.push(x);
            q.push(s.make(4, 400));
            q.push(s.make(5, 500));
            BOOST_TEST(s.pop_n(q, 3) == (Labels{1, 2, 3}), boost::test_tools::per_element());
            if (younger_first) {
                q.put_back(c);
                q.put_back(a);
                q.put_back(b);
            } else {
                q.put_back(a);
                q.put_back(c);
                q.put_back(b);
            }
            BOOST_TEST(q.waiting() == 5u);
            BOOST_TEST(s.drain(q) == (Labels{1, 2, 3, 4, 5}), boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(put_back_between_waiting_entries) {
    Slots s;
    ClaimQueue q;
    TaskSlot* c = s.make(3, 300);
    q.push(s.make(1, 100));
    q.push(s.make(2, 200));
    q.push(c);
    q.push(s.make(4, 400));
    BOOST_TEST(s.pop_n(q, 3) == (Labels{1, 2, 3}), boost::test_tools::per_element());
    q.push(s.make(5, 500));
    // Between two waiting entries (created 250: a clock that stepped, or an entry claimed
    // through the other queue and released while this one had not popped past it).
    q.put_back(s.make(6, 250));
    q.put_back(c);
    BOOST_TEST(s.drain(q) == (Labels{6, 3, 4, 5}), boost::test_tools::per_element());
}

// A task claimed through the other queue and released again still has its entry waiting here:
// putting it back must not add a second one (it would be popped twice).
BOOST_AUTO_TEST_CASE(put_back_of_a_still_waiting_entry_adds_nothing) {
    for (const std::size_t popped : {0u, 1u, 2u}) {
        BOOST_TEST_CONTEXT(popped << " popped first") {
            Slots s;
            ClaimQueue q;
            std::vector<TaskSlot*> slots;
            for (int i = 1; i <= 4; ++i) slots.push_back(s.make(i, 100 * i));
            for (TaskSlot* x : slots) q.push(x);
            BOOST_TEST(s.pop_n(q, popped).size() == popped);
            for (std::size_t i = popped; i < slots.size(); ++i) q.put_back(slots[i]);
            BOOST_TEST(q.waiting() == slots.size() - popped);
            Labels rest;
            for (std::size_t i = popped; i < slots.size(); ++i) rest.push_back(static_cast<int>(i) + 1);
            BOOST_TEST(s.drain(q) == rest, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(put_back_when_nothing_was_popped_inserts) {
    Slots s;
    ClaimQueue q;
    q.put_back(s.make(9, 900));  // an empty queue
    BOOST_TEST(q.waiting() == 1u);
    q.push(s.make(2, 200));      // older than the last: the sorted insert of push
    q.push(s.make(3, 300));
    q.put_back(s.make(1, 100));  // head == 0: no spent slot to reuse
    q.put_back(s.make(4, 400));  // in the middle
    BOOST_TEST(q.waiting() == 5u);
    BOOST_TEST(s.drain(q) == (Labels{1, 2, 3, 4, 9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(push_keeps_created_at_then_id_order) {
    Slots s;
    ClaimQueue q;
    q.push(s.make(15, 1000, 5));
    q.push(s.make(13, 1000, 3));  // same created_at, smaller id: before
    q.push(s.make(17, 1000, 7));  // same created_at, larger id: after
    q.push(s.make(16, 1000, 6));  // between two with the same created_at
    q.push(s.make(1, 500, 9));    // the clock stepped back: first
    q.push(s.make(20, 2000, 0));  // the usual append
    BOOST_TEST(q.waiting() == 6u);
    BOOST_TEST(s.drain(q) == (Labels{1, 13, 15, 16, 17, 20}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(push_older_than_the_waiting_entries_stays_after_the_spent_ones) {
    Slots s;
    ClaimQueue q;
    q.push(s.make(1, 100));
    q.push(s.make(2, 200));
    q.push(s.make(3, 300));
    BOOST_TEST(s.pop_n(q, 2) == (Labels{1, 2}), boost::test_tools::per_element());
    q.push(s.make(4, 50));  // older than everything, even the popped ones
    BOOST_TEST(q.waiting() == 2u);
    BOOST_TEST(s.drain(q) == (Labels{4, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(remove_if_drops_matching_and_spent_entries) {
    Slots s;
    ClaimQueue q;
    for (int i = 1; i <= 6; ++i) q.push(s.make(i, 100 * i));
    BOOST_TEST(s.pop_n(q, 2) == (Labels{1, 2}), boost::test_tools::per_element());

    Labels seen;  // the predicate is asked about the waiting entries only
    q.remove_if([&](const TaskSlot* x) {
        seen.push_back(s.label(x));
        return s.label(x) % 2 == 0;
    });
    BOOST_TEST(seen == (Labels{3, 4, 5, 6}), boost::test_tools::per_element());
    BOOST_TEST(q.waiting() == 2u);

    // The spent entries are gone: an older put_back now goes in by insertion, still first.
    q.put_back(s.make(7, 10));
    q.push(s.make(8, 800));
    BOOST_TEST(s.drain(q) == (Labels{7, 3, 5, 8}), boost::test_tools::per_element());

    // Dropping everything leaves an empty, usable queue.
    q.push(s.make(9, 900));
    q.remove_if([](const TaskSlot*) { return true; });
    BOOST_TEST(q.waiting() == 0u);
    BOOST_TEST(q.pop() == nullptr);
    q.push(s.make(10, 1000));
    BOOST_TEST(s.drain(q) == (Labels{10}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(remove_if_after_idle_pops) {
    Slots s;
    ClaimQueue q;
    q.push(s.make(1, 100));
    q.push(s.make(2, 200));
    BOOST_TEST(s.drain(q) == (Labels{1, 2}), boost::test_tools::per_element());
    for (int i = 0; i < 50; ++i) BOOST_TEST_REQUIRE(q.pop() == nullptr);
    int asked = 0;
    q.remove_if([&](const TaskSlot*) {
        ++asked;
        return false;
    });
    BOOST_TEST(asked == 0);
    BOOST_TEST(q.waiting() == 0u);
    q.push(s.make(3, 300));
    BOOST_TEST(s.drain(q) == (Labels{3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(clear_empties_the_queue) {
    Slots s;
    ClaimQueue q;
    q.push(s.make(1, 100));
    q.push(s.make(2, 200));
    BOOST_TEST(s.pop_n(q, 1) == (Labels{1}), boost::test_tools::per_element());
    q.clear();
    BOOST_TEST(q.waiting() == 0u);
    BOOST_TEST(q.pop() == nullptr);
    q.push(s.make(3, 300));
    BOOST_TEST(s.drain(q) == (Labels{3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(compaction_after_many_pops_keeps_order) {
    Slots s;
    ClaimQueue q;
    constexpr int kFirst = 12'000;
    std::vector<TaskSlot*> slots;
    for (int i = 0; i < kFirst; ++i) {
        slots.push_back(s.make(i, 1'000 + i));
        q.push(slots.back());
    }
    Labels popped = s.pop_n(q, 9'000);  // far past the compaction threshold, most of the array
    Labels expected;
    for (int i = 0; i < 9'000; ++i) expected.push_back(i);
    BOOST_TEST_REQUIRE(popped == expected, boost::test_tools::per_element());

    // Pushes now compact (drop the spent 9,000) and must keep every waiting entry in order.
    for (int i = kFirst; i < kFirst + 3'000; ++i) {
        slots.push_back(s.make(i, 1'000 + i));
        q.push(slots.back());
    }
    BOOST_TEST(q.waiting() == 6'000u);
    // An old entry put back after compaction still goes first; so do some interleaved pops.
    q.put_back(slots[5]);
    q.put_back(slots[8'999]);
    expected = {5, 8'999};
    for (int i = 9'000; i < kFirst + 3'000; ++i) expected.push_back(i);

    // Interleave pops and appends across another compaction.
    Labels got = s.pop_n(q, 5'000);
    for (int i = kFirst + 3'000; i < kFirst + 9'000; ++i) {
        slots.push_back(s.make(i, 1'000 + i));
        q.push(slots.back());
        expected.push_back(i);
        if (i % 2 == 0) got.push_back(s.pop_n(q, 1).front());
    }
    const Labels rest = s.drain(q);
    got.insert(got.end(), rest.begin(), rest.end());
    BOOST_TEST(got.size() == expected.size());
    BOOST_TEST(got == expected, boost::test_tools::per_element());
    BOOST_TEST(q.waiting() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
