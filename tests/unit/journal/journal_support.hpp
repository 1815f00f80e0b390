// Helpers shared by the journal tests: an in-memory Storage (LevelDB's StringDest manner), the
// framing of records into segments, replay of framed records into a Store, and a canonical
// text dump of a Store's whole state so that two stores compare line by line.
#pragma once

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

// A data directory in memory: name -> bytes. FileContents unmaps what it holds, so read()
// copies the file into an anonymous mapping. Thread-safe (the writer thread appends).
class MemoryStorage final : public journal::Storage {
public:
    using Files = std::map<std::string, std::string>;

    MemoryStorage() = default;
    MemoryStorage(const MemoryStorage& other) : files_(other.snapshot()) {}
    MemoryStorage& operator=(const MemoryStorage& other) {
        Files copy = other.snapshot();
        std::lock_guard lock(mutex_);
        files_ = std::move(copy);
        return *this;
    }

    Files snapshot() const {
        std::lock_guard lock(mutex_);
        return files_;
    }
    void put(const std::string& name, std::string bytes) {
        std::lock_guard lock(mutex_);
        files_[name] = std::move(bytes);
    }
    std::string get(const std::string& name) const {
        std::lock_guard lock(mutex_);
        return files_.at(name);
    }
    bool has(const std::string& name) const {
        std::lock_guard lock(mutex_);
        return files_.contains(name);
    }

    journal::IoResult<std::unique_ptr<journal::AppendFile>> create(const std::string& name) override {
        std::lock_guard lock(mutex_);
        if (!files_.emplace(name, std::string{}).second) return error(boost::system::errc::file_exists);
        return std::unique_ptr<journal::AppendFile>(std::make_unique<File>(*this, name));
    }
    journal::IoResult<std::unique_ptr<journal::AppendFile>> open_append(const std::string& name,
                                                                        std::uint64_t offset) override {
        std::lock_guard lock(mutex_);
        auto it = files_.find(name);
        if (it == files_.end()) return error(boost::system::errc::no_such_file_or_directory);
        // Appends go to the end of the string: drop what lies past `offset` (a reservation's
        // zeros, which the appends would have overwritten).
        if (offset > it->second.size()) return error(boost::system::errc::invalid_argument);
        it->second.resize(offset);
        return std::unique_ptr<journal::AppendFile>(std::make_unique<File>(*this, name));
    }
    journal::IoResult<journal::FileSpace> space(const std::string& name) override {
        std::lock_guard lock(mutex_);
        auto it = files_.find(name);
        if (it == files_.end()) return error(boost::system::errc::no_such_file_or_directory);
        return journal::FileSpace{it->second.size(), it->second.size()};
    }
    journal::IoResult<std::vector<std::string>> list() override {
        std::lock_guard lock(mutex_);
        std::vector<std::string> names;
        for (const auto& [name, bytes] : files_) names.push_back(name);
        return names;
    }
    journal::IoResult<journal::FileContents> read(const std::string& name) override {
        std::lock_guard lock(mutex_);
        auto it = files_.find(name);
        if (it == files_.end()) return error(boost::system::errc::no_such_file_or_directory);
        if (it->second.empty()) return journal::FileContents{};
        void* p = ::mmap(nullptr, it->second.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return error(boost::system::errc::not_enough_memory);
        std::memcpy(p, it->second.data(), it->second.size());
        return journal::FileContents(static_cast<const std::uint8_t*>(p), it->second.size());
    }
    journal::IoResult<> truncate(const std::string& name, std::uint64_t size) override {
        std::lock_guard lock(mutex_);
        auto it = files_.find(name);
        if (it == files_.end()) return error(boost::system::errc::no_such_file_or_directory);
        it->second.resize(size, '\0');
        return {};
    }
    journal::IoResult<> rename(const std::string& from, const std::string& to) override {
        std::lock_guard lock(mutex_);
        auto it = files_.find(from);
        if (it == files_.end()) return error(boost::system::errc::no_such_file_or_directory);
        std::string bytes = std::move(it->second);
        files_.erase(it);
        files_[to] = std::move(bytes);
        return {};
    }
    journal::IoResult<> remove(const std::string& name) override {
        std::lock_guard lock(mutex_);
        if (files_.erase(name) == 0) return error(boost::system::errc::no_such_file_or_directory);
        return {};
    }
    journal::IoResult<> sync_directory() override { return {}; }

private:
    class File final : public journal::AppendFile {
    public:
        File(MemoryStorage& owner, std::string name) : owner_(owner), name_(std::move(name)) {}
        journal::IoResult<> append(std::span<const std::uint8_t> data) override {
            std::lock_guard lock(owner_.mutex_);
            auto it = owner_.files_.find(name_);
            if (it == owner_.files_.end()) return error(boost::system::errc::no_such_file_or_directory);
            it->second.append(reinterpret_cast<const char*>(data.data()), data.size());
            return {};
        }
        journal::IoResult<> sync() override { return {}; }

    private:
        MemoryStorage& owner_;
        std::string name_;
    };

    static boost::system::error_code error(boost::system::errc::errc_t e) {
        return boost::system::errc::make_error_code(e);
    }

    mutable std::mutex mutex_;
    Files files_;
};

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

inline std::string opt_text(const model::JsonText& t) { return t ? *t : "null"; }
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
        << " lease_s=" << t.lease_seconds << " lease_until=" << opt_time(t.lease_expires_at) << " v=" << t.version;
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
