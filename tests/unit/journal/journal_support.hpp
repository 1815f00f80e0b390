// Helpers shared by the journal tests: the in-memory Storage (memory_storage.hpp), the
// framing of records into segments, replay of framed records into a Store, and a canonical
// text dump of a Store's whole state so that two stores compare line by line.
#pragma once

#include "memory_storage.hpp"

#include "journal/change.hpp"
#include "journal/record.hpp"
#include "journal/storage.hpp"
#include "store/store.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/mman.h>

#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace taskd::test {

inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Splits records framed back to back (MemoryLog::records(), a segment after its header) into
// one string per record. Every record must parse.
inline std::vector<std::string> split_records(std::string_view framed) {
    std::vector<std::string> out;
    while (!framed.empty()) {
        journal::RecordView r;
        BOOST_TEST_REQUIRE((journal::parse_record(bytes_of(framed), r) == journal::ParseResult::ok));
        out.emplace_back(framed.substr(0, r.size));
        framed.remove_prefix(r.size);
    }
    return out;
}

// A segment holding records[from, to) (0-based), whose first record has sequence from + 1.
inline std::string make_segment(const std::vector<std::string>& records, std::size_t from, std::size_t to) {
    std::string out = journal::file_header(journal::kSegmentMagic, from + 1);
    for (std::size_t i = from; i < to; ++i) out += records[i];
    return out;
}

// Parses, decodes and applies the framed record at the start of `framed`; returns it.
inline journal::RecordView apply_record(store::Store& into, std::string_view framed) {
    journal::RecordView r;
    BOOST_TEST_REQUIRE((journal::parse_record(bytes_of(framed), r) == journal::ParseResult::ok));
    auto change = journal::decode_change(r.type, r.payload);
    BOOST_TEST_REQUIRE(change.has_value());
    into.apply(*change);
    return r;
}

// Applies framed records back to back; returns how many. Sequences must count from 1.
inline std::size_t replay_into(store::Store& into, std::string_view framed) {
    std::size_t n = 0;
    while (!framed.empty()) {
        const auto r = apply_record(into, framed);
        BOOST_TEST_REQUIRE(r.sequence == n + 1);
        framed.remove_prefix(r.size);
        ++n;
    }
    return n;
}

inline std::string opt_text(const model::JsonText& t) { return std::string(t ? *t : std::string_view("null")); }
inline std::string opt_uuid(const std::optional<model::Uuid>& id) { return id ? model::to_string(*id) : "-"; }
inline std::string opt_time(const std::optional<model::Timestamp>& t) {
    return t ? std::to_string(model::to_micros(*t)) : "-";
}

// Every field of a task, on one line.
inline std::string describe(const model::Task& t) {
    std::ostringstream out;
    out << model::to_string(t.id) << " tenant=" << model::to_string(t.tenant_id) << " agent=" << opt_uuid(t.agent_id)
        << " type=" << t.type << " payload=" << opt_text(t.payload) << " status=" << model::to_string(t.status)
        << " result=" << opt_text(t.result) << " created=" << model::to_micros(t.created_at)
        << " updated=" << model::to_micros(t.updated_at) << " attempts=" << t.attempts << "/" << t.max_attempts
        << " lease_s=" << t.lease_seconds << " lease_until=" << opt_time(t.lease_expires_at) << " v=" << t.version
        << " priority=" << int{t.schedule.priority} << " not_before=" << opt_time(t.schedule.not_before_time());
    return out.str();
}

// An agent's fields, last_seen_at included or not.
inline std::string describe(const model::Agent& a, bool with_last_seen) {
    std::ostringstream out;
    out << model::to_string(a.id) << " name=" << a.name << " tenant=" << opt_uuid(a.tenant_id)
        << " created=" << model::to_micros(a.created_at) << " hash=";
    for (std::uint8_t b : a.token_hash) out << static_cast<int>(b) << '.';
    if (with_last_seen) out << " seen=" << opt_time(a.last_seen_at);
    return out.str();
}

// The tasks matching `filter`, newest first (list_tasks' order), every field.
inline std::vector<std::string> task_lines(const store::Store& s, const store::TaskFilter& filter = {}) {
    std::vector<std::string> out;
    s.list_tasks(filter, std::nullopt, std::numeric_limits<std::size_t>::max(),
                 [&](const model::Task& t) { out.push_back(describe(t)); });
    return out;
}

// The whole state: every task, then every agent (with last_seen_at), in the stores' orders.
inline std::vector<std::string> dump(const store::Store& s) {
    std::vector<std::string> out = task_lines(s);
    for (const auto& a : s.list_agents()) out.push_back(describe(a, true));
    return out;
}

}  // namespace taskd::test
