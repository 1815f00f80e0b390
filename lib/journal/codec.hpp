// Encoder / Decoder: the little-endian binary fields of journal and snapshot payloads
// (doc/journal_format.md). A Decoder never reads past its input: a field that does not fit
// sets ok() to false and reads as zero, so damaged input is detected, never an overrun.
#pragma once

#include "model/time.hpp"
#include "model/uuid.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace taskd::journal {

class Encoder {
public:
    explicit Encoder(std::string& out) : out_(out) {}

    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(std::uint32_t v) { put(v); }
    void u64(std::uint64_t v) { put(v); }
    void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v)); }
    void time(model::Timestamp t) { i64(model::to_micros(t)); }
    void uuid(const model::Uuid& id) { out_.append(reinterpret_cast<const char*>(id.data), 16); }
    void bytes(std::span<const std::uint8_t> b) { out_.append(reinterpret_cast<const char*>(b.data()), b.size()); }
    void string(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }
    // LEB128: seven bits a byte, low first; small counts and deltas take one or two bytes.
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    // Zigzag (0, -1, 1, -2 ... as 0, 1, 2, 3 ...), then varint: for deltas of either sign.
    void svarint(std::int64_t v) { varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
    void short_string(std::string_view s) {
        varint(s.size());
        out_.append(s);
    }
    template <class T, class F>
    void optional(const std::optional<T>& v, F&& write) {
        u8(v ? 1 : 0);
        if (v) write(*v);
    }

private:
    template <class T>
    void put(T v) {
        char buf[sizeof(T)];
        for (std::size_t i = 0; i < sizeof(T); ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
        out_.append(buf, sizeof buf);
    }
    std::string& out_;
};

class Decoder {
public:
    explicit Decoder(std::span<const std::uint8_t> in) : in_(in) {}

    bool ok() const { return ok_; }
    void fail() { ok_ = false; }  // a field read fine but holds an impossible value
    bool done() const { return pos_ == in_.size(); }
    std::size_t remaining() const { return in_.size() - pos_; }

    std::uint8_t u8() { return get<std::uint8_t>(); }
    std::uint32_t u32() { return get<std::uint32_t>(); }
    std::uint64_t u64() { return get<std::uint64_t>(); }
    std::int64_t i64() { return static_cast<std::int64_t>(get<std::uint64_t>()); }
    model::Timestamp time() { return model::from_micros(i64()); }
    model::Uuid uuid() {
        model::Uuid id{};
        if (take(16)) std::memcpy(id.data, in_.data() + pos_ - 16, 16);
        return id;
    }
    template <std::size_t N>
    std::array<std::uint8_t, N> bytes() {
        std::array<std::uint8_t, N> out{};
        if (take(N)) std::memcpy(out.data(), in_.data() + pos_ - N, N);
        return out;
    }
    std::string string() {
        const std::uint32_t size = u32();
        if (!take(size)) return {};
        return std::string(reinterpret_cast<const char*>(in_.data() + pos_ - size), size);
    }
    // A varint of at most ten bytes (64 bits); a longer one is damage.
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            const std::uint8_t b = u8();
            if (!ok_) return 0;
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                if (shift == 63 && b > 1) ok_ = false;  // bits past the 64th
                return v;
            }
        }
        ok_ = false;
        return 0;
    }
    std::int64_t svarint() {
        const std::uint64_t v = varint();
        return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
    }
    std::uint32_t varint32() {
        const std::uint64_t v = varint();
        if (v > 0xffffffffu) ok_ = false;
        return static_cast<std::uint32_t>(v);
    }
    // The bytes of a varint-prefixed string, valid while the input is.
    std::string_view short_string() {
        const std::uint64_t size = varint();
        if (size > remaining() || !take(static_cast<std::size_t>(size))) {
            ok_ = false;
            return {};
        }
        return {reinterpret_cast<const char*>(in_.data() + pos_ - size), static_cast<std::size_t>(size)};
    }
    // Reads the presence byte; a value other than 0 or 1 is damage.
    bool present() {
        const std::uint8_t flag = u8();
        if (flag > 1) ok_ = false;
        return flag == 1;
    }

private:
    bool take(std::size_t n) {
        if (!ok_ || n > in_.size() - pos_) {
            ok_ = false;
            return false;
        }
        pos_ += n;
        return true;
    }
    template <class T>
    T get() {
        if (!take(sizeof(T))) return 0;
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(in_[pos_ - sizeof(T) + i]) << (8 * i));
        return v;
    }

    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace taskd::journal
