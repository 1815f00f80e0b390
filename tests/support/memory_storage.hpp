// MemoryStorage: a data directory in memory (name -> bytes), LevelDB's StringDest manner, for
// the journal tests and the fuzz targets (so it needs nothing of Boost.Test). FileContents
// unmaps what it holds, so read() copies the file into an anonymous mapping. Thread-safe (the
// writer thread appends).
#pragma once

#include "journal/storage.hpp"

#include <sys/mman.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace taskd::test {

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

}  // namespace taskd::test
