// agent/env_file, property tests: random .env files and random updates.
//   1. every entry whose key is not updated is byte-identical, in place; an updated entry keeps
//      its bytes before and after the value; new keys are the only thing appended;
//   2. a compose-go model reads every updated key back as given and every other key as before;
//   3. a real POSIX shell (/bin/sh, `. file`) reads back exactly the values the rewriter wrote.
#include "agent/env_file.hpp"

#include "env_reader.hpp"
#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <sys/wait.h>
#include <vector>

using namespace taskd::agent;

namespace {

struct GenEntry {
    std::string text;    // the whole entry, terminator included
    std::string key;     // empty: not an assignment
    std::string prefix;  // bytes before the value
    std::string suffix;  // bytes after it
    EnvQuote quote = EnvQuote::none;  // how the value was written
};

class Gen {
public:
    explicit Gen(std::uint32_t seed) : rng_(seed) {}
    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
    bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

    std::string from(std::string_view alphabet, std::size_t max_len) {
        std::string s;
        const std::size_t n = below(max_len + 1);
        for (std::size_t i = 0; i < n; ++i) s += alphabet[below(alphabet.size())];
        return s;
    }

    // A value anyone might want to set: printable ASCII with every quote and shell character,
    // blanks, newlines, a multi-byte character.
    std::string value() {
        static const std::vector<std::string> pieces = {
            "a", "Z", "0", "_", ".", "/", ":", "-", "=", "@", " ", "\t", "\n", "#", "$", "'", "\"", "`", "\\",
            "!", "*", "?", "~", "&", ";", "|", "<", ">", "(", ")", "{", "}", "[", "]", "\xC3\xA9", "${X}", "\\n"};
        std::string s;
        const std::size_t n = below(12);
        for (std::size_t i = 0; i < n; ++i) s += pieces[below(pieces.size())];
        return s;
    }

    GenEntry entry(const std::vector<std::string>& keys, const std::string& eol) {
        GenEntry e;
        const auto kind = below(10);
        if (kind == 0) {
            e.text = "#" + from(" abcXYZ=#'\"$", 20) + eol;
            return e;
        }
        if (kind == 1) {
            e.text = from(" \t", 3) + eol;
            return e;
        }
        e.key = keys[below(keys.size())];
        e.prefix = from(" \t", 2) + (chance(20) ? "export " : "") + e.key + (chance(15) ? " = " : "=");
        std::string value;
        switch (below(4)) {
            case 0: value = from("abcXYZ019_./:@%+,=-", 12); break;
            case 1:
                value = "'" + from("abc XYZ$\"`#\n", 12) + "'";
                e.quote = EnvQuote::single;
                break;
            case 2:
                value = "\"" + from("abc XYZ#'\n", 10) + (chance(50) ? "\\\"" : "\\\\") + "\"";
                e.quote = EnvQuote::double_;
                break;
            default: value = ""; break;
        }
        if (!value.empty() && chance(30)) e.suffix = " # note";
        else if (!value.empty() && chance(20)) e.suffix = "  ";
        e.suffix += eol;
        e.text = e.prefix + value + e.suffix;
        return e;
    }

private:
    std::mt19937 rng_;
};

std::map<std::string, std::string> shell_read(const std::string& file, const std::vector<std::string>& keys) {
    // Each value printed between NULs (no value holds one).
    std::string script = ". \"$1\" && printf '%s\\0'";
    for (const auto& k : keys) script += " \"$" + k + "\"";
    const std::string command = "/bin/sh -c '" + [&] {
        std::string q;
        for (char c : script) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return q;
    }() + "' sh '" + file + "'";
    FILE* p = ::popen(command.c_str(), "r");
    BOOST_TEST_REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int status = ::pclose(p);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);
    std::map<std::string, std::string> values;
    std::size_t at = 0;
    for (const auto& k : keys) {
        const auto end = out.find('\0', at);
        if (end == std::string::npos) break;
        values[k] = out.substr(at, end - at);
        at = end + 1;
    }
    return values;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_env_property)

BOOST_AUTO_TEST_CASE(untouched_bytes_stay_and_updates_read_back) {
    const std::vector<std::string> keys = {"A", "B", "DB_HOST", "PORT", "x_1"};
    int refused = 0;
    for (std::uint32_t seed = 1; seed <= 2000; ++seed) {
        Gen g(seed);
        const std::string eol = g.chance(25) ? "\r\n" : "\n";
        std::vector<GenEntry> entries;
        const std::size_t n = g.below(12);
        for (std::size_t i = 0; i < n; ++i) entries.push_back(g.entry(keys, eol));
        if (!entries.empty() && g.chance(30)) {  // no final newline
            auto& last = entries.back();
            auto& tail = last.key.empty() ? last.text : last.suffix;
            tail.resize(tail.size() - eol.size());
            if (!last.key.empty()) last.text.resize(last.text.size() - eol.size());
            else last.text = tail;
        }
        std::string original;
        for (const auto& e : entries) original += e.text;

        std::vector<std::pair<std::string, std::string>> updates;
        for (const auto& k : keys)
            if (g.chance(30)) updates.emplace_back(k, g.value());
        if (g.chance(50)) updates.emplace_back("NEW_" + std::to_string(g.below(3)), g.value());

        BOOST_TEST_CONTEXT("seed " << seed << " file [" << original << "]") {
            auto r = rewrite_env(original, updates);
            if (!r) {
                // Only a value that no quoting can hold for both readers is refused.
                bool unquotable = false;
                for (const auto& [k, v] : updates)
                    unquotable |= !quote_env_value(v, EnvQuote::none).has_value();
                BOOST_TEST(unquotable);
                ++refused;
                continue;
            }
            std::map<std::string, std::string> wanted;
            for (const auto& [k, v] : updates) wanted[k] = v;

            // 1. Entries in place, byte for byte.
            const std::string& out = r->text;
            std::size_t pos = 0;
            std::set<std::string> seen;
            for (const auto& e : entries) {
                const auto it = e.key.empty() ? wanted.end() : wanted.find(e.key);
                if (it == wanted.end()) {
                    BOOST_TEST_REQUIRE(out.compare(pos, e.text.size(), e.text) == 0);
                    pos += e.text.size();
                    continue;
                }
                seen.insert(e.key);
                BOOST_TEST_REQUIRE(out.compare(pos, e.prefix.size(), e.prefix) == 0);
                pos += e.prefix.size();
                std::string quoted = *quote_env_value(it->second, e.quote);
                // An empty value before an inline comment must be quoted (compose would read the comment).
                if (quoted.empty() && e.suffix.find('#') != std::string::npos) quoted = "''";
                const std::string expected = quoted + e.suffix;
                BOOST_TEST_REQUIRE(out.compare(pos, expected.size(), expected) == 0);
                pos += expected.size();
            }
            // New keys only, each on a line of its own, with the file's line end.
            const std::string nl = original.find("\r\n") != std::string::npos ? "\r\n" : "\n";
            std::string appended;
            for (const auto& [k, v] : updates)
                if (!seen.count(k)) appended += k + "=" + *quote_env_value(v, EnvQuote::none) + nl;
            std::string rest = out.substr(pos);
            if (!original.empty() && !original.ends_with("\n") && !appended.empty()) {
                BOOST_TEST_REQUIRE(rest.starts_with(nl));
                rest = rest.substr(nl.size());
            }
            BOOST_TEST(rest == appended);

            // 2. Read back as compose does.
            auto before = taskd::test::read_env_like_compose(original);
            const auto after = taskd::test::read_env_like_compose(out);
            for (const auto& [k, v] : wanted) before[k] = v;
            BOOST_TEST(after.size() == before.size());
            for (const auto& [k, v] : before) {
                BOOST_TEST_CONTEXT("key " << k << " out [" << out << "]") {
                    BOOST_TEST(after.count(k) == 1u);
                    if (after.count(k)) BOOST_TEST(after.at(k) == v);
                }
            }
        }
    }
    BOOST_TEST_MESSAGE("refused " << refused << " of 2000 (a value with both ' and `)");
}

BOOST_AUTO_TEST_CASE(arbitrary_bytes_never_break_the_rewriter) {
    // Any file at all (binary, unterminated quotes, stray NULs): no crash, no change without
    // updates, and a new key only appends.
    std::mt19937 rng(7);
    const std::string alphabet = std::string("A=\"'#\\ \t\r\nexport_$`x\xC3\xA9\xFF") + std::string(1, '\0');
    for (int round = 0; round < 5000; ++round) {
        std::string file;
        const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 60)(rng);
        for (std::size_t i = 0; i < n; ++i) {
            file += round % 2 ? alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)]
                              : static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
        }
        BOOST_TEST_CONTEXT("round " << round) {
            auto same = rewrite_env(file, {});
            BOOST_TEST_REQUIRE(same.has_value());
            BOOST_TEST(same->text == file);
            auto added = rewrite_env(file, {{"ZZ_NEW_KEY", "v"}});
            BOOST_TEST_REQUIRE(added.has_value());
            BOOST_TEST(added->text.starts_with(file));
            auto updated = rewrite_env(file, {{"A", "new value"}, {"x", ""}});
            BOOST_TEST(updated.has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_posix_shell_reads_back_every_value) {
    taskd::test::TempDir dir;
    const std::string file = (dir.path() / "env").string();
    // One key per quoting style the rewriter may meet, and one it has to add.
    const std::string base = "PLAIN=x\nSINGLE='x'\nDOUBLE=\"x\"\nexport EXPORTED=x\n";
    const std::vector<std::string> keys = {"PLAIN", "SINGLE", "DOUBLE", "EXPORTED", "ADDED"};
    Gen g(42);
    int checked = 0;
    for (int round = 0; round < 150; ++round) {
        std::vector<std::pair<std::string, std::string>> updates;
        for (const auto& k : keys) updates.emplace_back(k, g.value());
        auto r = rewrite_env(base, updates);
        if (!r) continue;  // a value with both ' and ` (checked above)
        std::ofstream(file, std::ios::binary) << r->text;
        const auto read = shell_read(file, keys);
        for (const auto& [k, v] : updates) {
            BOOST_TEST_CONTEXT("round " << round << " key " << k << " file [" << r->text << "]") {
                BOOST_TEST(read.count(k) == 1u);
                if (read.count(k)) BOOST_TEST(read.at(k) == v);
            }
        }
        ++checked;
    }
    BOOST_TEST(checked > 100);
}

BOOST_AUTO_TEST_SUITE_END()
