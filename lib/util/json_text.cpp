#include "util/json_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace taskd::util {

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the bytes not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out += kHex[c >> 4];
                out += kHex[c & 0xf];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

namespace {

template <class Number>
void append_number(std::string& out, Number n) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

void append_double(std::string& out, double d) {
    // Bodies are checked for finite numbers on the way in; this keeps the output valid JSON
    // even if a non-finite number were ever to reach it.
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    const auto start = out.size();
    append_number(out, d);
    // Keep a double recognisable as one: 1.0 stays "1.0", not "1".
    if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
}

}  // namespace

void append_json(std::string& out, const boost::json::value& v, KeyOrder order) {
    switch (v.kind()) {
        case boost::json::kind::null: out += "null"; break;
        case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
        case boost::json::kind::int64: append_number(out, v.get_int64()); break;
        case boost::json::kind::uint64: append_number(out, v.get_uint64()); break;
        case boost::json::kind::double_: append_double(out, v.get_double()); break;
        case boost::json::kind::string: append_json_string(out, v.get_string()); break;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& item : v.get_array()) {
                if (!first) out += ',';
                first = false;
                append_json(out, item, order);
            }
            out += ']';
            break;
        }
        case boost::json::kind::object: {
            const auto& object = v.get_object();
            auto member = [&, first = true](const boost::json::key_value_pair& kv) mutable {
                if (!first) out += ',';
                first = false;
                append_json_string(out, kv.key());
                out += ':';
                append_json(out, kv.value(), order);
            };
            out += '{';
            if (order == KeyOrder::as_given) {
                for (const auto& kv : object) member(kv);
            } else {
                std::vector<const boost::json::key_value_pair*> members;
                members.reserve(object.size());
                for (const auto& kv : object) members.push_back(&kv);
                std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
                for (const auto* kv : members) member(*kv);
            }
            out += '}';
            break;
        }
    }
}

std::string to_json(const boost::json::value& v) {
    std::string out;
    append_json(out, v);
    return out;
}

}  // namespace taskd::util
