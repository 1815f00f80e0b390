// TypeNames: every task type the store holds, once.
//
// A fleet runs a handful of task types over millions of tasks, so a slot names its type by a
// pointer into this table (8 bytes) instead of holding a std::string (32 bytes, and a second
// allocation past 15 characters). Each name counts the slots that use it and goes with the
// last of them, so that types made up by clients do not pile up for ever.
//
// Thread-safety: none of its own. acquire() and release() run under the store's exclusive
// lock; a name is read under the lock either way, and by a snapshot being written while the
// slot that names it is kept (TaskTable::erase).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace taskd::store {

class TypeNames {
public:
    // std::unordered_map's nodes do not move: a name's address is stable for its life.
    using Name = std::pair<const std::string, std::size_t>;

    const Name* acquire(std::string_view type) {
        // Creates and recovery bring the same type again and again: skip the hash.
        if (last_ && last_->first == type) {
            ++last_->second;
            return last_;
        }
        auto it = names_.find(type);
        if (it == names_.end()) it = names_.emplace(std::string(type), 0).first;
        ++it->second;
        last_ = &*it;
        return last_;
    }
    void release(const Name* name) {
        auto& entry = const_cast<Name&>(*name);  // every Name is an entry of names_
        if (--entry.second > 0) return;
        if (last_ == &entry) last_ = nullptr;
        names_.erase(names_.find(entry.first));  // by iterator: the key is the node's own
    }
    std::size_t size() const { return names_.size(); }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> names_;
    Name* last_ = nullptr;
};

}  // namespace taskd::store
