// journal/recovery on an in-memory directory (LevelDB log_test, DuckDB wal_torn_write): the
// journal of a real Store (every record type), cut at every byte and flipped at every bit.
// Recovery must give exactly a prefix of the records — compared as the whole recovered state,
// not only a count — cut a torn tail and truncate the file to the last good record, and refuse
// any other damage naming the file and offset unless --recover=truncate-corrupt.
#include "auth/token.hpp"
#include "journal/change_log.hpp"
#include "journal/recovery.hpp"
#include "journal/writer.hpp"
#include "journal_support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <tuple>

namespace {

using namespace taskd;
using journal::RecoverMode;
using journal::segment_name;
using test::MemoryStorage;

// The framed records of a short store history, and the state after each prefix of them.
struct Sample {
    std::vector<std::string> records;                   // record i has sequence i + 1
    std::vector<std::vector<std::string>> states;       // states[k]: after the first k records
    // Where each record from `first` on starts in a segment that starts with it, then its end.
    std::vector<std::size_t> offsets(std::size_t first) const {
        std::vector<std::size_t> out{journal::kFileHeaderBytes};
        for (std::size_t i = first; i < records.size(); ++i) out.push_back(out.back() + records[i].size());
        return out;
    }
};

struct Replica {
    model::ManualClock clock{model::from_micros(0)};
    journal::MemoryLog log;
    store::Store store{clock, log};
};

const Sample& sample() {
    static const Sample s = [] {
        model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
        journal::MemoryLog log;
        store::Store st{clock, log};
        // One record each, 1.5 s apart (so that agent_seen is logged).
        auto at_next_tick = [&](auto&& change) {
            clock.advance(std::chrono::milliseconds(1500));
            return change();
        };
        auto create = [&](const model::Uuid& tenant, const char* type) {
            return at_next_tick([&] {
                store::NewTask n;
                n.tenant_id = tenant;
                n.type = type;
                n.payload = model::make_json_text(R"({"n":1})");
                return st.create_task(std::move(n)).value().value.task;
            });
        };
        const model::Uuid tenant = model::random_uuid();
        const auto holder = st.register_agent("holder", tenant, auth::hash_token("h")).value().value;  // 1
        const auto shared =
            at_next_tick([&] { return st.register_agent("shared", std::nullopt, auth::hash_token("s")); });
        const auto t1 = create(tenant, "A");  // 3
        create(model::random_uuid(), "B");
        BOOST_TEST_REQUIRE(at_next_tick([&] { return st.claim(holder).value().value.has_value(); }));  // 5
        BOOST_TEST_REQUIRE(at_next_tick([&] { return st.authenticate_agent(auth::hash_token("h")).has_value(); }));
        const model::Patch done{model::Status::completed, model::make_json_text(R"({"ok":true})")};
        BOOST_TEST_REQUIRE(at_next_tick([&] { return st.patch_task(t1.id, done, holder).has_value(); }));  // 7
        BOOST_TEST_REQUIRE(at_next_tick([&] { return st.claim(shared->value).value().value.has_value(); }));
        BOOST_TEST_REQUIRE(at_next_tick([&] { return st.delete_agent(shared->value.id).value().value; }) == 1u);  // 9
        BOOST_TEST_REQUIRE(at_next_tick([&] { return st.purge_finished(clock.now(), 10).value; }) == 1u);
        create(tenant, "C");  // 11
        Sample out;
        out.records = test::split_records(log.records());
        BOOST_TEST_REQUIRE(out.records.size() == 11u);
        Replica r;
        out.states.push_back(test::dump(r.store));
        for (const auto& record : out.records) {
            test::apply_record(r.store, record);
            out.states.push_back(test::dump(r.store));
        }
        return out;
    }();
    return s;
}

struct Outcome {
    boost::system::result<journal::RecoveryReport, journal::RecoveryError> result;
    std::vector<std::string> state;

    bool ok() const { return result.has_value(); }
    const journal::RecoveryReport& report() const { return *result; }
    std::string message() const { return result.has_value() ? "" : result.error().message; }
    std::string cuts() const {
        std::string all;
        if (ok())
            for (const auto& c : report().cuts) all += c + "\n";
        return all;
    }
};

Outcome recover(MemoryStorage& storage, RecoverMode mode = RecoverMode::strict, bool read_only = false) {
    Replica r;
    auto result = journal::recover(storage, mode, read_only, [&](const journal::Change& c) { r.store.apply(c); });
    return Outcome{std::move(result), test::dump(r.store)};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
std::string at(const std::string& name, std::size_t offset) { return name + " at offset " + std::to_string(offset); }

// Checks a recovery that kept the first `kept` records; false if it was refused.
bool expect_prefix(const Outcome& o, std::size_t kept) {
    BOOST_TEST(o.ok(), "refused: " << o.message());
    if (!o.ok()) return false;
    BOOST_TEST(o.report().records_replayed == kept);
    BOOST_TEST(o.report().last_sequence == kept);
    BOOST_TEST(o.state == sample().states[kept], boost::test_tools::per_element());
    return true;
}

// The sample as segments starting at the given record indices (0-based).
MemoryStorage segments(const std::vector<std::size_t>& starts) {
    MemoryStorage storage;
    const auto& recs = sample().records;
    for (std::size_t i = 0; i < starts.size(); ++i)
        storage.put(segment_name(starts[i] + 1),
                    test::make_segment(recs, starts[i], i + 1 < starts.size() ? starts[i + 1] : recs.size()));
    return storage;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_recovery)

BOOST_AUTO_TEST_CASE(intact_journal_replays_every_record) {
    for (const auto& starts : std::vector<std::vector<std::size_t>>{{0}, {0, 6}, {0, 1, 2, 10}}) {
        BOOST_TEST_MESSAGE("segments: " << starts.size());
        MemoryStorage storage = segments(starts);
        const auto before = storage.snapshot();
        const auto o = recover(storage);
        if (!expect_prefix(o, 11)) continue;
        BOOST_TEST(o.report().cuts.empty());
        BOOST_TEST(o.report().segments.size() == starts.size());
        BOOST_TEST((storage.snapshot() == before));
    }
}

BOOST_AUTO_TEST_CASE(last_segment_cut_at_every_byte_keeps_exactly_the_complete_records) {
    const MemoryStorage base = segments({0, 6});
    const std::string name = segment_name(7);
    const std::string full = base.get(name);
    const auto starts = sample().offsets(6);  // 24, then each record's end
    for (std::size_t size = 0; size <= full.size(); ++size) {
        BOOST_TEST_CONTEXT("last segment cut to " << size << " of " << full.size() << " bytes") {
            MemoryStorage storage = base;
            storage.put(name, full.substr(0, size));
            const auto o = recover(storage);
            if (size < journal::kFileHeaderBytes) {  // a torn header: the segment goes
                if (!expect_prefix(o, 6)) continue;
                BOOST_TEST(!storage.has(name));
                BOOST_TEST(o.report().cuts.size() == 1u);
                BOOST_TEST(contains(o.cuts(), "torn tail: " + at(name, 0) + ", " + std::to_string(size) + " bytes"));
                continue;
            }
            std::size_t complete = 0;
            while (complete + 1 < starts.size() && starts[complete + 1] <= size) ++complete;
            const std::size_t good = starts[complete];
            if (!expect_prefix(o, 6 + complete)) continue;
            // A cut record whose bytes so far are all zero (its CRC's first byte may be) cannot
            // be told from the segment's unused reservation: it is left in place and nothing is
            // cut. Nothing is lost either way; the writer starts a new segment after recovery.
            const bool zeros_only = std::all_of(full.begin() + static_cast<std::ptrdiff_t>(good),
                                                full.begin() + static_cast<std::ptrdiff_t>(size),
                                                [](char c) { return c == '\0'; });
            BOOST_TEST(storage.get(name).size() == (zeros_only ? size : good));
            BOOST_TEST((storage.get(segment_name(1)) == base.get(segment_name(1))));
            BOOST_TEST(o.report().cuts.size() == (zeros_only ? 0u : 1u));
            if (!zeros_only)
                BOOST_TEST(
                    contains(o.cuts(), "torn tail: " + at(name, good) + ", " + std::to_string(size - good) + " bytes"),
                    o.cuts());
            // Recovering again finds nothing more to cut and the same state.
            const auto again = recover(storage);
            BOOST_TEST_REQUIRE(again.ok());
            BOOST_TEST(again.report().cuts.empty());
            BOOST_TEST(again.state == o.state, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(every_flipped_bit_is_cut_as_a_torn_tail_or_refused) {
    const MemoryStorage base = segments({0});
    const std::string name = segment_name(1);
    const std::string full = base.get(name);
    const auto starts = sample().offsets(0);
    const std::size_t last = starts[starts.size() - 2];  // where the last record starts
    for (std::size_t i = 0; i < full.size(); ++i) {
        // The record the byte is in (0-based); the header counts as "before record 0".
        std::size_t record = 0;
        while (record + 1 < starts.size() && starts[record + 1] <= i) ++record;
        const std::size_t damaged_at = i < journal::kFileHeaderBytes ? 0 : starts[record];
        const std::size_t kept = i < journal::kFileHeaderBytes ? 0 : record;
        for (int bit = 0; bit < 8; ++bit) {
            BOOST_TEST_CONTEXT("byte " << i << " bit " << bit << " (record at " << damaged_at << ")") {
                std::string damaged = full;
                damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
                MemoryStorage storage = base;
                storage.put(name, damaged);
                const auto strict = recover(storage);
                if (i >= last) {  // the last record: a torn tail, cut
                    expect_prefix(strict, kept);
                    BOOST_TEST(contains(strict.cuts(), "torn tail: " + at(name, last)));
                    BOOST_TEST(storage.get(name).size() == last);
                    continue;
                }
                BOOST_TEST(!strict.ok(), "recovered with cuts: " << strict.cuts());
                if (strict.ok()) continue;
                BOOST_TEST(contains(strict.message(), at(name, damaged_at)), strict.message());
                BOOST_TEST(contains(strict.message(), "--recover=truncate-corrupt"));
                BOOST_TEST((storage.get(name) == damaged));  // a refusal changes nothing
                if (bit != static_cast<int>(i % 8)) continue;  // truncate-corrupt: one bit a byte
                const auto cut = recover(storage, RecoverMode::truncate_corrupt);
                expect_prefix(cut, kept);
                BOOST_TEST(contains(cut.cuts(), at(name, damaged_at)));
                if (damaged_at == 0) BOOST_TEST(!storage.has(name));
                else BOOST_TEST(storage.get(name).size() == damaged_at);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(garbage_after_the_last_record_is_a_torn_tail) {
    std::mt19937 rng(99);
    auto random = [&](std::size_t n) {
        std::string s(n, '\0');
        for (auto& c : s) c = static_cast<char>(rng());
        return s;
    };
    // (Zeros alone are a segment's unused reservation: see the next test.)
    const std::pair<const char*, std::string> cases[] = {
        {"a one", std::string(1, '\1')},
        {"16 zeros and a one", std::string(16, '\0') + '\1'},
        {"a one and a page of zeros", '\1' + std::string(4096, '\0')},
        {"0xff x 40", std::string(40, '\xff')},  {"3 random", random(3)},
        {"100 random", random(100)},             {"5000 random", random(5000)},
        {"a segment header", journal::file_header(journal::kSegmentMagic, 12)},
    };
    const std::string name = segment_name(7);
    for (const auto& [what, garbage] : cases) {
        BOOST_TEST_CONTEXT(what) {
            MemoryStorage storage = segments({0, 6});
            const std::size_t size = storage.get(name).size();
            storage.put(name, storage.get(name) + garbage);
            const auto o = recover(storage);
            if (!expect_prefix(o, 11)) continue;
            BOOST_TEST(o.report().cuts.size() == 1u);
            BOOST_TEST(
                contains(o.cuts(), "torn tail: " + at(name, size) + ", " + std::to_string(garbage.size()) + " bytes"));
            BOOST_TEST(storage.get(name).size() == size);
        }
    }
}

// Segments are reserved ahead (AppendFile::reserve): their records end where only zeros follow,
// in the last segment and in older ones alike. Nothing is cut, nothing reported as damage. An
// older segment takes no more records, so its zeros are given back (truncated at its last
// record); the newest is left as it is, for the writer to continue; read-only changes nothing.
BOOST_AUTO_TEST_CASE(zeros_after_the_records_are_an_unused_reservation) {
    for (std::size_t zeros : {1u, 17u, 4096u, 1u << 16}) {
        for (const std::string& name : {segment_name(1), segment_name(7)}) {
            for (const bool read_only : {false, true}) {
                BOOST_TEST_CONTEXT(zeros << " zeros after " << name << (read_only ? ", read-only" : "")) {
                    MemoryStorage storage = segments({0, 6});
                    const auto intact = storage.snapshot();
                    storage.put(name, storage.get(name) + std::string(zeros, '\0'));
                    const auto before = storage.snapshot();
                    const auto o = recover(storage, RecoverMode::strict, read_only);
                    if (!expect_prefix(o, 11)) continue;
                    BOOST_TEST(o.report().cuts.empty(), o.cuts());
                    const bool older = name == segment_name(1);
                    const bool trimmed = older && !read_only;
                    BOOST_TEST((storage.snapshot() == (trimmed ? intact : before)));
                    BOOST_TEST(o.report().segments_trimmed == (trimmed ? 1u : 0u));
                    BOOST_TEST(o.report().bytes_trimmed == (trimmed ? zeros : 0u));
                    // Either way each segment reports where its records end and the file's size.
                    BOOST_TEST_REQUIRE(o.report().segments.size() == 2u);
                    for (const auto& segment : o.report().segments) {
                        const std::size_t data_bytes = intact.at(segment.name).size();
                        BOOST_TEST(segment.used_bytes == data_bytes);
                        BOOST_TEST(segment.file_bytes == data_bytes + (segment.name == name ? zeros : 0u));
                    }
                    BOOST_TEST(o.report().segments.back().first_sequence == 7u);
                    BOOST_TEST(o.report().segments.back().next_sequence == 12u);
                }
            }
        }
    }
}

// A write that died inside the reservation: part of the last record, then zeros. It is a torn
// tail, cut where the record starts.
BOOST_AUTO_TEST_CASE(a_torn_record_inside_the_reservation_is_cut) {
    const MemoryStorage base = segments({0, 6});
    const std::string name = segment_name(7);
    const std::string full = base.get(name);
    const auto starts = sample().offsets(6);
    const std::size_t last = starts[starts.size() - 2];
    for (std::size_t kept_bytes : {std::size_t{1}, journal::kRecordHeaderBytes, (full.size() - last) / 2}) {
        BOOST_TEST_CONTEXT(kept_bytes << " bytes of the last record") {
            // (Were the bytes lost all zeros, the zeros would restore the record.)
            const std::string lost = full.substr(last + kept_bytes);
            BOOST_TEST_REQUIRE(lost.find_first_not_of('\0') != std::string::npos);
            MemoryStorage storage = base;
            storage.put(name, full.substr(0, last + kept_bytes) + std::string(8192, '\0'));
            const auto o = recover(storage);
            if (!expect_prefix(o, 10)) continue;
            BOOST_TEST(contains(o.cuts(), "torn tail: " + at(name, last)), o.cuts());
            BOOST_TEST(storage.get(name).size() == last);
        }
    }
}

// Zeros followed by a valid record are not a reservation: the data did not end there.
BOOST_AUTO_TEST_CASE(zeros_between_records_are_damage) {
    const auto starts = sample().offsets(6);
    const std::string name = segment_name(7);
    MemoryStorage storage = segments({0, 6});
    const std::string full = storage.get(name);
    const std::string damaged = full.substr(0, starts[2]) + std::string(17, '\0') + full.substr(starts[2]);
    storage.put(name, damaged);
    const auto o = recover(storage);
    BOOST_TEST_REQUIRE(!o.ok());
    BOOST_TEST(contains(o.message(), at(name, starts[2])), o.message());
    BOOST_TEST((storage.get(name) == damaged));
}

// A segment reserved (zeros, its full size) whose header never reached the disk.
BOOST_AUTO_TEST_CASE(a_last_segment_of_zeros_is_torn) {
    MemoryStorage storage = segments({0});
    const std::string name = segment_name(12);
    storage.put(name, std::string(4096, '\0'));
    const auto o = recover(storage);
    expect_prefix(o, 11);
    BOOST_TEST(contains(o.cuts(), "torn tail: " + at(name, 0)), o.cuts());
    BOOST_TEST(!storage.has(name));
}

BOOST_AUTO_TEST_CASE(damage_followed_by_valid_records_in_the_last_segment_is_refused) {
    const auto starts = sample().offsets(0);
    const std::size_t damaged_at = starts[3];  // record 4 of 11
    const std::string name = segment_name(1);
    const std::string full = segments({0}).get(name);
    std::string flipped = full, cut_short = full, zeroed = full;
    flipped[damaged_at + 30] ^= 0x01;
    cut_short.erase(damaged_at + 20, 5);                     // a record missing bytes mid-file
    std::fill_n(zeroed.begin() + static_cast<std::ptrdiff_t>(damaged_at), 30, '\0');  // a hole
    const std::pair<const char*, std::string> cases[] = {
        {"flipped", flipped}, {"cut short", cut_short}, {"zeroed", zeroed}};
    for (const auto& [what, bytes] : cases) {
        BOOST_TEST_CONTEXT(what) {
            MemoryStorage storage;
            storage.put(name, bytes);
            const auto strict = recover(storage);
            BOOST_TEST_REQUIRE(!strict.ok());
            BOOST_TEST(contains(strict.message(), at(name, damaged_at)), strict.message());
            BOOST_TEST(contains(strict.message(), "--recover=truncate-corrupt"));
            BOOST_TEST((storage.get(name) == bytes));
            const auto o = recover(storage, RecoverMode::truncate_corrupt);
            expect_prefix(o, 3);
            BOOST_TEST(storage.get(name).size() == damaged_at);
            BOOST_TEST(contains(o.cuts(), "--recover=truncate-corrupt"));
        }
    }
}

BOOST_AUTO_TEST_CASE(damage_in_an_older_segment_is_refused_even_at_its_end) {
    const std::string older = segment_name(1), later = segment_name(7);
    const std::string full = segments({0, 6}).get(older);
    const std::size_t last = sample().offsets(0)[5];  // record 6 starts
    std::string flipped = full;
    flipped.back() ^= 0x40;
    std::string bad_header = full;
    bad_header[3] ^= 0x01;
    const std::tuple<const char*, std::string, std::size_t, std::size_t> cases[] = {
        {"last record cut short", full.substr(0, full.size() - 3), last, 5},
        {"last byte flipped", flipped, last, 5},
        {"garbage after the last record", full + '\x01' + std::string(9, '\0'), full.size(), 6},
        {"damaged header", bad_header, 0, 0},
        {"empty", "", 0, 0},
    };
    for (const auto& [what, bytes, damaged_at, kept] : cases) {
        BOOST_TEST_CONTEXT(what) {
            MemoryStorage storage = segments({0, 6});
            storage.put(older, bytes);
            const auto strict = recover(storage);
            BOOST_TEST_REQUIRE(!strict.ok());
            BOOST_TEST(contains(strict.message(), at(older, damaged_at)), strict.message());
            BOOST_TEST(storage.has(later));
            const auto o = recover(storage, RecoverMode::truncate_corrupt);
            expect_prefix(o, kept);
            BOOST_TEST(!storage.has(later));  // everything after the damage is dropped
            BOOST_TEST(contains(o.cuts(), later));
            if (damaged_at == 0) BOOST_TEST(!storage.has(older));
            else BOOST_TEST(storage.get(older).size() == damaged_at);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_missing_segment_is_a_sequence_gap) {
    const std::pair<std::size_t, std::size_t> cases[] = {{5, 4}, {1, 0}};  // missing segment, records kept
    for (const auto& [missing, kept] : cases) {
        BOOST_TEST_CONTEXT("without journal segment " << missing) {
            MemoryStorage storage = segments({0, 4, 8});
            BOOST_TEST_REQUIRE(storage.remove(segment_name(missing)).has_value());
            const std::string next = segment_name(missing == 1 ? 5 : 9);
            const auto strict = recover(storage);
            BOOST_TEST_REQUIRE(!strict.ok());
            BOOST_TEST(contains(strict.message(), at(next, 0)), strict.message());
            BOOST_TEST(contains(strict.message(), "expected record " + std::to_string(kept + 1)), strict.message());
            const auto o = recover(storage, RecoverMode::truncate_corrupt);
            expect_prefix(o, kept);
            BOOST_TEST(!storage.has(next));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_valid_record_that_is_not_the_next_one_is_refused) {
    // Complete records with a correct CRC are not torn writes: a gap, a repeated record, a
    // snapshot record or an unreadable payload at the very end must stop the start.
    const auto& recs = sample().records;
    std::string unreadable, snapshot_type;
    journal::append_record(unreadable, journal::RecordType::agent_seen, 11, "xyz");
    journal::append_record(snapshot_type, journal::RecordType::snapshot_end, 11, journal::encode_snapshot_end(0, 0));
    std::string gap = test::make_segment(recs, 0, 9);
    journal::RecordView r;
    BOOST_TEST_REQUIRE((journal::parse_record(test::bytes_of(recs[10]), r) == journal::ParseResult::ok));
    journal::append_record(gap, r.type, 11,
                           std::string_view(reinterpret_cast<const char*>(r.payload.data()), r.payload.size()));
    const std::tuple<const char*, std::string> cases[] = {
        {"record 11 after record 9", gap},
        {"record 10 twice", test::make_segment(recs, 0, 10) + recs[9]},
        {"a snapshot record", test::make_segment(recs, 0, 10) + snapshot_type},
        {"an unreadable payload", test::make_segment(recs, 0, 10) + unreadable},
    };
    const std::string name = segment_name(1);
    for (const auto& [what, bytes] : cases) {
        BOOST_TEST_CONTEXT(what) {
            MemoryStorage storage;
            storage.put(name, bytes);
            const auto strict = recover(storage);
            BOOST_TEST(!strict.ok(), "recovered with cuts: " << strict.cuts());
            BOOST_TEST((storage.get(name) == bytes));
            expect_prefix(recover(storage, RecoverMode::truncate_corrupt),
                          std::string_view(what) == "record 11 after record 9" ? 9 : 10);
        }
    }
}

BOOST_AUTO_TEST_CASE(read_only_changes_nothing_and_reports_what_it_would_cut) {
    const std::string first = segment_name(1), last = segment_name(7);
    const std::tuple<const char*, RecoverMode, std::function<void(MemoryStorage&)>, std::size_t> cases[] = {
        {"torn tail", RecoverMode::strict, [&](MemoryStorage& s) { s.put(last, s.get(last).substr(0, 50)); }, 6},
        {"short header", RecoverMode::strict, [&](MemoryStorage& s) { s.put(last, s.get(last).substr(0, 5)); }, 6},
        {"damage, truncate-corrupt", RecoverMode::truncate_corrupt,
         [&](MemoryStorage& s) { s.put(first, s.get(first).substr(0, 60)); }, 0},
    };
    for (const auto& [what, mode, damage, kept] : cases) {
        BOOST_TEST_CONTEXT(what) {
            MemoryStorage storage = segments({0, 6});
            damage(storage);
            storage.put(journal::snapshot_name(3) + ".tmp", "partial");
            const auto before = storage.snapshot();
            const auto o = recover(storage, mode, true);
            if (!expect_prefix(o, kept)) continue;
            BOOST_TEST(o.report().cuts.size() == 1u);
            BOOST_TEST(o.cuts().starts_with("would cut "), o.cuts());
            BOOST_TEST((storage.snapshot() == before));
        }
    }
}

BOOST_AUTO_TEST_CASE(temp_files_are_removed_and_other_files_ignored) {
    MemoryStorage storage = segments({0, 6});
    storage.put(journal::snapshot_name(3) + ".tmp", "half a snapshot");
    storage.put("other.tmp", "");
    storage.put("LOCK", "");
    storage.put("admin.token", "secret");
    storage.put("journal-7.log", "not a segment name: 20 digits are required");
    expect_prefix(recover(storage), 11);
    BOOST_TEST(!storage.has(journal::snapshot_name(3) + ".tmp"));
    BOOST_TEST(!storage.has("other.tmp"));
    BOOST_TEST(storage.has("LOCK"));
    BOOST_TEST(storage.get("admin.token") == "secret");
    BOOST_TEST(storage.has("journal-7.log"));
}

BOOST_AUTO_TEST_CASE(an_empty_or_short_last_segment_is_torn) {
    for (std::size_t size : {0u, 1u, 23u}) {
        for (bool alone : {false, true}) {
            BOOST_TEST_CONTEXT("last segment of " << size << " bytes" << (alone ? ", the only one" : "")) {
                MemoryStorage storage = alone ? MemoryStorage{} : segments({0});
                const std::string name = segment_name(alone ? 1 : 12);
                storage.put(name, journal::file_header(journal::kSegmentMagic, alone ? 1 : 12).substr(0, size));
                const auto o = recover(storage);
                expect_prefix(o, alone ? 0 : 11);
                BOOST_TEST(contains(o.cuts(), "torn tail: " + at(name, 0)), o.cuts());
                BOOST_TEST(!storage.has(name));
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
