#include "util/json_parse.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <cmath>
#include <string>
#include <variant>
#include <vector>

namespace taskd::util {
namespace json = boost::json;
namespace {

// Boost.JSON's own value-building handler (json::parser's), but for doubles and for integers
// too large for 64 bits. With `locate`, it also keeps the path to the value being read, for the
// error that names where a refused integer is: only when parse_json() reads a refused text
// again, so that a valid document costs nothing for it.
class ExactHandler {
public:
    using Path = std::vector<std::variant<std::string, std::size_t>>;

    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    ExactHandler(json::storage_ptr storage, unsigned char* scratch, std::size_t scratch_size, bool locate)
        : stack_(json::storage_ptr(), scratch, scratch_size), locate_(locate) {
        stack_.reset(std::move(storage));
    }

    json::value release() { return stack_.release(); }
    // With `locate`, after a refused integer: where it is.
    const Path& path() const { return path_; }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
        if (locate_) path_.emplace_back(std::string());
        return true;
    }
    bool on_object_end(std::size_t n, boost::system::error_code&) {
        stack_.push_object(n);
        leave_container();
        return true;
    }
    bool on_array_begin(boost::system::error_code&) {
        if (locate_) path_.emplace_back(std::size_t{0});
        return true;
    }
    bool on_array_end(std::size_t n, boost::system::error_code&) {
        stack_.push_array(n);
        leave_container();
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        stack_.push_chars(s);
        if (locate_) key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
        stack_.push_key(s);
        if (locate_) {
            key_.append(s.data(), s.size());
            path_.back() = std::move(key_);
            key_.clear();
        }
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
        stack_.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code&) {
        stack_.push_string(s);
        value_read();
        return true;
    }
    // A number split across two writes comes in parts; parse_json() writes the whole text at
    // once, but the handler does not rely on it.
    bool on_number_part(json::string_view s, boost::system::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&) {
        number_.clear();
        stack_.push_int64(i);
        value_read();
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&) {
        number_.clear();
        stack_.push_uint64(u);
        value_read();
        return true;
    }
    bool on_double(double approximate, json::string_view last, boost::system::error_code& ec) {
        std::string_view text(last.data(), last.size());
        if (!number_.empty()) {
            number_.append(last.data(), last.size());
            text = number_;
        }
        const bool ok = push_exact(approximate, text, ec);
        number_.clear();
        if (ok) value_read();
        return ok;
    }
    bool on_bool(bool b, boost::system::error_code&) {
        stack_.push_bool(b);
        value_read();
        return true;
    }
    bool on_null(boost::system::error_code&) {
        stack_.push_null();
        value_read();
        return true;
    }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    // A value of the innermost array is done: the next one has the next index.
    void value_read() {
        if (locate_ && !path_.empty())
            if (auto* index = std::get_if<std::size_t>(&path_.back())) ++*index;
    }
    void leave_container() {
        if (!locate_) return;
        path_.pop_back();
        value_read();
    }

    // `text` is a JSON number the grammar accepted; Boost.JSON read it as `approximate`.
    bool push_exact(double approximate, std::string_view text, boost::system::error_code& ec) {
        // Boost.JSON reads an integer literal as a double only when it fits no 64-bit type.
        if (text.find_first_of(".eE") == std::string_view::npos) {
            ec = make_error_code(boost::system::errc::value_too_large);
            return false;
        }
        double exact = 0;
        const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), exact);
        if (err == std::errc::result_out_of_range) {
            // from_chars leaves `exact` alone; the approximate reading (at most an ulp or two
            // off) says which way the number left the range.
            const double sign = text.front() == '-' ? -1.0 : 1.0;
            exact = std::abs(approximate) < 1.0 ? std::copysign(0.0, sign) : std::copysign(HUGE_VAL, sign);
        } else if (err != std::errc{} || end != text.data() + text.size()) {
            exact = approximate;  // cannot happen for a JSON number; keep Boost.JSON's reading
        }
        stack_.push_double(exact);
        return true;
    }

    json::value_stack stack_;
    std::string number_;  // the parts of a number split across writes
    const bool locate_;
    Path path_;        // with locate_: one entry per open container, its current key or index
    std::string key_;  // with locate_: the parts of a key split across writes
};

// One pass of the parser over all of `text`.
std::optional<json::value> parse_once(std::string_view text, std::size_t max_depth, json::storage_ptr storage,
                                      bool locate, JsonParseFailure& failure) {
    json::parse_options options;
    options.max_depth = max_depth;
    // The value stack's first kilobyte on this stack frame: a small document costs no
    // allocation for the parser's working memory.
    unsigned char scratch[1024];
    json::basic_parser<ExactHandler> parser(options, std::move(storage), scratch, sizeof scratch, locate);
    boost::system::error_code ec;
    const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
    if (!ec && consumed < text.size()) ec = json::error::extra_data;
    if (ec) {
        failure = {ec, consumed, {}};
        if (locate) failure.path = parser.handler().path();
        return std::nullopt;
    }
    return parser.handler().release();
}

}  // namespace

std::optional<json::value> parse_json(std::string_view text, std::size_t max_depth, json::storage_ptr storage,
                                      JsonParseFailure& failure) {
    auto value = parse_once(text, max_depth, storage, false, failure);
    // Rare: read it again to say where the integer is.
    if (!value && failure.ec == boost::system::errc::value_too_large)
        parse_once(text, max_depth, std::move(storage), true, failure);
    return value;
}

std::optional<json::value> parse_json(std::string_view text) {
    JsonParseFailure failure;
    return parse_json(text, 64, {}, failure);
}

}  // namespace taskd::util
