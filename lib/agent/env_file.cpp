#include "agent/env_file.hpp"

#include <algorithm>

namespace taskd::agent {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Characters that neither a shell (no expansion, quoting, globbing, tilde, word splitting in an
// assignment) nor compose-go (no interpolation, comment or quote) gives a meaning to.
bool is_plain(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '/' || c == ':' || c == '@' || c == '%' || c == '+' || c == ',' || c == '=' || c == '-';
}

std::size_t line_end(std::string_view text, std::size_t from) {
    const auto nl = text.find('\n', from);
    return nl == std::string_view::npos ? text.size() : nl;
}

std::size_t after_line(std::string_view text, std::size_t from) {
    const auto nl = text.find('\n', from);
    return nl == std::string_view::npos ? text.size() : nl + 1;
}

}  // namespace

bool is_env_key(std::string_view key) {
    if (key.empty()) return false;
    auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
    if (!alpha(key.front())) return false;
    return std::all_of(key.begin() + 1, key.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::vector<EnvEntry> scan_env(std::string_view text) {
    std::vector<EnvEntry> entries;
    std::size_t pos = 0;
    // compose-go skips a UTF-8 byte order mark (some editors write one).
    if (text.starts_with("\xEF\xBB\xBF")) pos = 3;
    while (pos < text.size()) {
        const std::size_t begin = pos;
        std::size_t p = pos;
        while (p < text.size() && is_blank(text[p])) ++p;
        if (p == text.size()) break;
        if (text[p] == '\n') {
            pos = p + 1;
            continue;
        }
        if (text[p] == '#') {
            pos = after_line(text, p);
            continue;
        }
        if (text.substr(p).starts_with("export") && p + 6 < text.size() && (text[p + 6] == ' ' || text[p + 6] == '\t')) {
            p += 6;
            while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
        }
        const std::size_t name_begin = p;
        while (p < text.size() && !is_blank(text[p]) && text[p] != '\n' && text[p] != '=' && text[p] != '#') ++p;
        const std::string_view name = text.substr(name_begin, p - name_begin);
        while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
        if (name.empty() || p == text.size() || text[p] != '=') {
            pos = after_line(text, p);  // not an assignment: left as it is
            continue;
        }
        ++p;
        while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;

        EnvEntry e;
        e.key = name;
        e.begin = begin;
        e.value_begin = p;
        bool quoted = false;
        if (p < text.size() && (text[p] == '\'' || text[p] == '"')) {
            // compose-go: the value runs to the next unescaped quote of the same kind, across lines.
            const char q = text[p];
            bool escaped = false;
            for (std::size_t i = p + 1; i < text.size(); ++i) {
                if (escaped) {
                    escaped = false;
                } else if (text[i] == '\\') {
                    escaped = true;
                } else if (text[i] == q) {
                    e.value_end = i + 1;
                    e.end = after_line(text, i + 1);
                    e.quote = q == '\'' ? EnvQuote::single : EnvQuote::double_;
                    quoted = true;
                    break;
                }
            }
        }
        if (!quoted) {
            // Unquoted (or a quote never closed: then only this line is the value). compose-go
            // ends the value at " #" and drops trailing blanks; both stay outside the value.
            const std::size_t eol = line_end(text, p);
            std::string_view v = text.substr(p, eol - p);
            if (const auto hash = v.find(" #"); hash != std::string_view::npos) v = v.substr(0, hash);
            while (!v.empty() && is_blank(v.back())) v.remove_suffix(1);
            e.value_end = p + v.size();
            e.end = eol == text.size() ? eol : eol + 1;
            e.quote = EnvQuote::none;
        }
        entries.push_back(e);
        pos = e.end;
    }
    return entries;
}

std::optional<std::string> quote_env_value(std::string_view value, EnvQuote preferred) {
    if (value.find('\0') != std::string_view::npos) return std::nullopt;  // no environment holds one
    const bool can_none = std::all_of(value.begin(), value.end(), is_plain);
    const bool can_single = value.find('\'') == std::string_view::npos && !value.ends_with('\\');
    const bool can_double = value.find('`') == std::string_view::npos;

    auto single = [&] { return "'" + std::string(value) + "'"; };
    auto dbl = [&] {
        std::string out = "\"";
        for (char c : value) {
            if (c == '\\' || c == '"' || c == '$') out += '\\';
            out += c;
        }
        return out + "\"";
    };
    if (preferred == EnvQuote::single && can_single) return single();
    if (preferred == EnvQuote::double_ && can_double) return dbl();
    if (can_none) return std::string(value);
    if (can_single) return single();
    if (can_double) return dbl();
    return std::nullopt;
}

Outcome<EnvUpdateResult> rewrite_env(std::string_view original,
                                     const std::vector<std::pair<std::string, std::string>>& updates) {
    // The last value of a key given twice, at the place of its first mention.
    std::vector<std::pair<std::string, std::string>> wanted;
    for (const auto& [key, value] : updates) {
        if (!is_env_key(key)) return fail("invalid key \"" + key + "\": a key must match [A-Za-z_][A-Za-z0-9_]*");
        // Compared through a named reference: clang 15 cannot capture a structured binding.
        const std::string& name = key;
        auto it = std::find_if(wanted.begin(), wanted.end(), [&](const auto& w) { return w.first == name; });
        if (it == wanted.end()) wanted.emplace_back(key, value);
        else it->second = value;
    }
    auto find = [&](std::string_view key) -> const std::string* {
        for (const auto& w : wanted)
            if (w.first == key) return &w.second;
        return nullptr;
    };
    auto unquotable = [](const std::string& key) {
        return fail("the value of " + key +
                    " cannot be written so that both docker compose and a POSIX shell read it back "
                    "(it holds a NUL byte, or both ' and `)");
    };

    EnvUpdateResult r;
    r.text.reserve(original.size() + 64);
    std::vector<bool> found(wanted.size(), false);
    std::size_t copied = 0;
    for (const EnvEntry& e : scan_env(original)) {
        const std::string* value = find(e.key);
        if (!value) continue;
        auto quoted = quote_env_value(*value, e.quote);
        if (!quoted) return unquotable(std::string(e.key));
        if (quoted->empty()) {
            // `KEY= # note`: compose-go skips the blanks and reads "# note" as the value (a
            // shell reads it as empty). Anything after an empty value needs it quoted.
            const auto rest = original.substr(e.value_end, e.end - e.value_end);
            if (rest.find_first_not_of(" \t\r\v\f\n") != std::string_view::npos) quoted = "''";
        }
        r.text.append(original.substr(copied, e.value_begin - copied));
        r.text.append(*quoted);
        copied = e.value_end;
        for (std::size_t i = 0; i < wanted.size(); ++i)
            if (wanted[i].first == e.key) found[i] = true;
    }
    r.text.append(original.substr(copied));

    // New keys go at the end, with the line end the file already uses.
    const std::string_view newline = original.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
    bool first_added = true;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (found[i]) {
            r.updated.push_back(wanted[i].first);
            continue;
        }
        const auto quoted = quote_env_value(wanted[i].second, EnvQuote::none);
        if (!quoted) return unquotable(wanted[i].first);
        if (first_added && !r.text.empty() && r.text.back() != '\n') r.text.append(newline);
        first_added = false;
        r.text.append(wanted[i].first).append("=").append(*quoted).append(newline);
        r.added.push_back(wanted[i].first);
    }
    return r;
}

}  // namespace taskd::agent
