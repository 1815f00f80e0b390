// A reader of .env files for the tests, written from compose-go's dotenv parser (v2,
// dotenv/parser.go) for what the rewriter writes and keeps: `[export ]KEY = value`, comments,
// blank lines, unquoted values cut at " #" and trimmed, single-quoted values kept as written
// (a backslash keeps the next byte, so `\'` does not end it), double-quoted values with \\ \" \$
// \n \r \t escapes. No interpolation: the rewriter never writes an unescaped `$`, and tests do
// not read keys whose values use one. The last assignment of a key wins.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace taskd::test {

inline std::map<std::string, std::string> read_env_like_compose(std::string_view s) {
    std::map<std::string, std::string> out;
    std::size_t i = 0;
    if (s.starts_with("\xEF\xBB\xBF")) i = 3;
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
    while (i < s.size()) {
        while (i < s.size() && (space(s[i]) || s[i] == '\n')) ++i;
        if (i >= s.size()) break;
        if (s[i] == '#') {
            const auto nl = s.find('\n', i);
            i = nl == std::string_view::npos ? s.size() : nl;
            continue;
        }
        if (s.substr(i).starts_with("export") && i + 6 < s.size() && (s[i + 6] == ' ' || s[i + 6] == '\t')) {
            i += 6;
            while (i < s.size() && space(s[i])) ++i;
        }
        std::size_t k = i;
        while (k < s.size() && s[k] != '=' && s[k] != '\n') ++k;
        std::string key(s.substr(i, k - i));
        while (!key.empty() && space(key.back())) key.pop_back();
        if (k >= s.size() || s[k] == '\n') {
            i = k;
            continue;
        }
        i = k + 1;
        while (i < s.size() && space(s[i])) ++i;
        std::string value;
        if (i < s.size() && (s[i] == '\'' || s[i] == '"')) {
            const char q = s[i];
            std::string raw;
            bool esc = false, closed = false;
            std::size_t j = i + 1;
            for (; j < s.size(); ++j) {
                const char c = s[j];
                if (c != q) {
                    if (!esc && c == '\\') {
                        esc = true;
                        continue;
                    }
                    if (esc) {
                        esc = false;
                        raw += '\\';
                    }
                    raw += c;
                    continue;
                }
                if (esc) {
                    esc = false;
                    raw += c;
                    continue;
                }
                closed = true;
                break;
            }
            if (!closed) return {};  // compose refuses the file
            if (q == '"') {
                for (std::size_t x = 0; x < raw.size(); ++x) {
                    if (raw[x] == '\\' && x + 1 < raw.size()) {
                        const char n = raw[x + 1];
                        if (n == '\\' || n == '"' || n == '$') { value += n; ++x; continue; }
                        if (n == 'n') { value += '\n'; ++x; continue; }
                        if (n == 'r') { value += '\r'; ++x; continue; }
                        if (n == 't') { value += '\t'; ++x; continue; }
                    }
                    value += raw[x];
                }
            } else {
                value = raw;
            }
            i = j + 1;
        } else {
            const auto nl = s.find('\n', i);
            const std::size_t end = nl == std::string_view::npos ? s.size() : nl;
            std::string_view v = s.substr(i, end - i);
            if (const auto h = v.find(" #"); h != std::string_view::npos) v = v.substr(0, h);
            while (!v.empty() && (space(v.back()))) v.remove_suffix(1);
            value = std::string(v);
            i = end;
        }
        out[key] = value;
    }
    return out;
}

}  // namespace taskd::test
