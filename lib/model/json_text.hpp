// JsonText: an immutable, shared piece of JSON text (a task's payload or result).
//
// One allocation holds the reference count, the length and the characters, so a task's
// payload costs its length plus 8 bytes (rounded up by malloc), where a shared_ptr<const
// std::string> cost a control block, a string and the string's own buffer: two allocations
// and 80 bytes more for README's payload (taskd-memory-bench, doc/design.md "Memory per task").
// It reads as the shared_ptr it replaced did: `*text` is the text (a string_view), `text->size()`
// its length, and an empty JsonText is JSON null.
//
// Thread-safety: as a shared_ptr: copies may be made and dropped on any thread at once; the
// text never changes.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <ostream>
#include <string_view>
#include <utility>

namespace taskd::model {

class JsonText {
public:
    JsonText() = default;
    JsonText(std::nullptr_t) {}
    JsonText(const JsonText& other) noexcept : block_(other.block_) {
        if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    JsonText(JsonText&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
    JsonText& operator=(JsonText other) noexcept {
        std::swap(block_, other.block_);
        return *this;
    }
    ~JsonText() { release(); }

    // The text, copied once: the only way to make one.
    static JsonText copy_of(std::string_view text) {
        void* memory = ::operator new(sizeof(Block) + text.size());
        auto* block = new (memory) Block{{1}, static_cast<std::uint32_t>(text.size())};
        if (!text.empty()) std::memcpy(block->chars(), text.data(), text.size());
        JsonText out;
        out.block_ = block;
        return out;
    }

    explicit operator bool() const noexcept { return block_ != nullptr; }
    std::string_view operator*() const noexcept { return {block_->chars(), block_->size}; }
    // `text->size()`, `text->data()`: the view lives until the end of the full expression.
    struct Arrow {
        std::string_view view;
        const std::string_view* operator->() const noexcept { return &view; }
    };
    Arrow operator->() const noexcept { return Arrow{**this}; }
    // As a shared_ptr prints (test failures show what they compared): the text, or "null".
    friend std::ostream& operator<<(std::ostream& out, const JsonText& text) {
        return out << (text ? *text : std::string_view("null"));
    }
    void reset() noexcept {
        release();
        block_ = nullptr;
    }

private:
    struct Block {
        std::atomic<std::uint32_t> refs;
        std::uint32_t size;  // a JSON body is bounded by --max-body-bytes, far below 4 GiB
        char* chars() noexcept { return reinterpret_cast<char*>(this + 1); }
    };
    void release() noexcept {
        if (block_ && block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            block_->~Block();
            ::operator delete(block_);
        }
    }

    Block* block_ = nullptr;
};

inline JsonText make_json_text(std::string_view text) { return JsonText::copy_of(text); }

}  // namespace taskd::model
