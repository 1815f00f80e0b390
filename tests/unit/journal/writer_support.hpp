// Helpers of the writer tests: TestStorage, a Storage wrapper that injects failures (Beast's
// fail_count), holds the writer thread inside a sync (a gate, so that batching is asserted
// without timing) and tracks unsynced data; the records those tests write and how to read them
// back; and waiters delivered on an io_context.
#pragma once

#include "journal/recovery.hpp"
#include "journal/writer.hpp"
#include "journal_support.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>

#include <sched.h>

namespace taskd::test {

// Forwards to another Storage; counts the appends and syncs of segment files, fails the Nth of
// either with EIO (a failing append first writes half its data, as a full disk may), and, when
// the gate is armed, holds the first sync that comes until release(). Counts the files closed
// with appended data that no sync has covered.
class TestStorage final : public journal::Storage {
public:
    explicit TestStorage(journal::Storage& inner) : inner_(inner) {}

    int fail_append = 0;  // 1-based; 0: never. Set before Writer::open.
    int fail_sync = 0;
    std::atomic<int> appends{0}, syncs{0};
    std::atomic<int> closed_unsynced{0};
    std::atomic<int> last_sync_policy{-1};  // sched_getscheduler() of the thread that synced last

    void arm_gate() {
        std::lock_guard lock(mutex_);
        armed_ = true;
    }
    void wait_until_held() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return held_; });
    }
    void release() {
        std::lock_guard lock(mutex_);
        released_ = true;
        changed_.notify_all();
    }

    journal::IoResult<std::unique_ptr<journal::AppendFile>> create(const std::string& name) override {
        auto file = inner_.create(name);
        if (!file) return file.error();
        return std::unique_ptr<journal::AppendFile>(std::make_unique<File>(*this, std::move(*file)));
    }
    journal::IoResult<std::unique_ptr<journal::AppendFile>> open_append(const std::string& name,
                                                                        std::uint64_t offset) override {
        auto file = inner_.open_append(name, offset);
        if (!file) return file.error();
        return std::unique_ptr<journal::AppendFile>(std::make_unique<File>(*this, std::move(*file)));
    }
    journal::IoResult<journal::FileSpace> space(const std::string& name) override { return inner_.space(name); }
    journal::IoResult<std::vector<std::string>> list() override { return inner_.list(); }
    journal::IoResult<journal::FileContents> read(const std::string& name) override { return inner_.read(name); }
    journal::IoResult<> truncate(const std::string& name, std::uint64_t size) override {
        return inner_.truncate(name, size);
    }
    journal::IoResult<> rename(const std::string& from, const std::string& to) override {
        return inner_.rename(from, to);
    }
    journal::IoResult<> remove(const std::string& name) override { return inner_.remove(name); }
    journal::IoResult<> sync_directory() override { return inner_.sync_directory(); }

private:
    static boost::system::error_code eio() { return {EIO, boost::system::system_category()}; }

    class File final : public journal::AppendFile {
    public:
        File(TestStorage& owner, std::unique_ptr<journal::AppendFile> inner)
            : owner_(owner), inner_(std::move(inner)) {}
        ~File() override {
            if (dirty_) ++owner_.closed_unsynced;
        }
        journal::IoResult<> append(std::span<const std::uint8_t> data) override {
            dirty_ = true;
            if (++owner_.appends == owner_.fail_append) {
                (void)inner_->append(data.first(data.size() / 2));
                return eio();
            }
            return inner_->append(data);
        }
        journal::IoResult<> sync() override {
            owner_.last_sync_policy = sched_getscheduler(0);
            owner_.hold_if_armed();
            if (++owner_.syncs == owner_.fail_sync) return eio();
            dirty_ = false;
            return inner_->sync();
        }
        void reserve(std::uint64_t bytes) override { inner_->reserve(bytes); }
        journal::IoResult<> trim() override { return inner_->trim(); }

    private:
        TestStorage& owner_;
        std::unique_ptr<journal::AppendFile> inner_;
        bool dirty_ = false;
    };

    void hold_if_armed() {
        std::unique_lock lock(mutex_);
        if (!armed_ || held_) return;
        held_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return released_; });
    }

    journal::Storage& inner_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool armed_ = false, held_ = false, released_ = false;
};

// Record i of writer `w` (a thread's number in the id's first byte) is agent_seen(id, i µs).
inline model::Uuid writer_id(int w) {
    model::Uuid id{};
    id.data[0] = static_cast<std::uint8_t>(w + 1);
    return id;
}
inline std::string payload(int w, std::int64_t i) {
    return journal::encode_agent_seen(writer_id(w), model::from_micros(i));
}

struct Segment {
    std::uint64_t first = 0;
    std::uint64_t size = 0;
    std::uint64_t last_record_size = 0;
    std::vector<std::pair<std::uint64_t, journal::AgentSeen>> records;  // sequence, content
};

inline Segment read_segment(journal::Storage& storage, const std::string& name) {
    auto contents = storage.read(name);
    BOOST_TEST_REQUIRE(contents.has_value());
    auto data = contents->bytes();
    Segment out;
    journal::FileHeader header;
    BOOST_TEST_REQUIRE((journal::parse_file_header(data, journal::kSegmentMagic, header) == journal::ParseResult::ok));
    out.first = header.first_sequence;
    for (data = data.subspan(journal::kFileHeaderBytes); !data.empty();) {
        // The unused part of the segment's reservation (AppendFile::reserve) reads as zeros.
        if (std::all_of(data.begin(), data.end(), [](std::uint8_t b) { return b == 0; })) break;
        journal::RecordView r;
        BOOST_TEST_REQUIRE((journal::parse_record(data, r) == journal::ParseResult::ok));
        auto change = journal::decode_change(r.type, r.payload);
        BOOST_TEST_REQUIRE(change.has_value());
        out.records.emplace_back(r.sequence, std::get<journal::AgentSeen>(*change));
        out.last_record_size = r.size;
        data = data.subspan(r.size);
    }
    out.size = static_cast<std::uint64_t>(data.data() - contents->bytes().data());  // where the data ends
    return out;
}

// The records recovery replays from `storage`, as the µs of each agent_seen; fails if refused.
inline std::vector<std::int64_t> recover_all(journal::Storage& storage, journal::RecoveryReport* report = nullptr) {
    std::vector<std::int64_t> out;
    auto result = journal::recover(storage, journal::RecoverMode::strict, false, [&](const journal::Change& c) {
        out.push_back(model::to_micros(std::get<journal::AgentSeen>(c).at));
    });
    BOOST_TEST_REQUIRE(result.has_value(), (result ? "" : result.error().message));
    if (report) *report = *result;
    return out;
}

// Waiter results by sequence number, delivered on one io_context.
struct Waiters {
    boost::asio::io_context io;
    std::map<std::uint64_t, boost::system::error_code> results;
    int completions = 0;

    void watch(journal::ChangeLog& log, std::uint64_t sequence) {
        journal::async_wait_durable(log, sequence,
                                    boost::asio::bind_executor(io, [this, sequence](boost::system::error_code ec) {
                                        results[sequence] = ec;
                                        ++completions;
                                    }));
    }
    void run() {
        io.restart();
        io.run();
    }
};

}  // namespace taskd::test
