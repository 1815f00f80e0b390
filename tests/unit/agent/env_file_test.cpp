// agent/env_file: the ENV_UPDATE rewriter, over a table of files and updates with the exact bytes
// expected, then a property test over random files (every untouched entry byte-identical, the
// updated keys read back as given, by a compose-go model and by a real POSIX shell).
#include "agent/env_file.hpp"

#include "env_reader.hpp"
#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace taskd::agent;
using Updates = std::vector<std::pair<std::string, std::string>>;

namespace {

struct Case {
    const char* name;
    std::string before;
    Updates updates;
    std::string after;  // empty with `refused`: the rewrite must fail
    bool refused = false;
};

const std::vector<Case>& cases() {
    static const std::vector<Case> k = {
        {"empty file gets the key", "", {{"A", "1"}}, "A=1\n"},
        {"plain value replaced", "A=1\n", {{"A", "2"}}, "A=2\n"},
        {"other keys untouched", "A=1\nB=2\nC=3\n", {{"B", "x"}}, "A=1\nB=x\nC=3\n"},
        {"new key appended at the end", "A=1\n", {{"B", "2"}}, "A=1\nB=2\n"},
        {"appended in the order given", "A=1\n", {{"Z", "1"}, {"B", "2"}}, "A=1\nZ=1\nB=2\n"},
        {"missing final newline kept on update", "A=1\nB=2", {{"B", "3"}}, "A=1\nB=3"},
        {"missing final newline: append starts a line", "A=1", {{"B", "2"}}, "A=1\nB=2\n"},
        {"comment lines kept", "# top\nA=1\n# mid\nB=2\n", {{"A", "9"}}, "# top\nA=9\n# mid\nB=2\n"},
        {"blank lines kept", "\n\nA=1\n\n\nB=2\n\n", {{"B", "3"}}, "\n\nA=1\n\n\nB=3\n\n"},
        {"export prefix kept", "export A=1\n", {{"A", "2"}}, "export A=2\n"},
        {"export with tabs kept", "export\t\tA=1\n", {{"A", "2"}}, "export\t\tA=2\n"},
        {"indentation kept", "  A=1\n\tB=2\n", {{"A", "x"}, {"B", "y"}}, "  A=x\n\tB=y\n"},
        {"spaces around = kept", "A = 1\n", {{"A", "2"}}, "A = 2\n"},
        {"single quotes kept", "A='old'\n", {{"A", "new value"}}, "A='new value'\n"},
        {"double quotes kept", "A=\"old\"\n", {{"A", "new value"}}, "A=\"new value\"\n"},
        {"double quotes escape $ \" \\", "A=\"x\"\n", {{"A", "a$b\"c\\d"}}, "A=\"a\\$b\\\"c\\\\d\"\n"},
        {"unquoted stays unquoted when plain", "A=x\n", {{"A", "host.example:5432/db"}}, "A=host.example:5432/db\n"},
        {"unquoted gets single quotes for a space", "A=x\n", {{"A", "two words"}}, "A='two words'\n"},
        {"hash is quoted", "A=x\n", {{"A", "a#b"}}, "A='a#b'\n"},
        {"dollar is quoted", "", {{"A", "$HOME"}}, "A='$HOME'\n"},
        {"single quote goes into double quotes", "", {{"A", "it's"}}, "A=\"it's\"\n"},
        {"single-quoted line falls back to double for a quote", "A='x'\n", {{"A", "it's"}}, "A=\"it's\"\n"},
        {"double-quoted line falls back to single for a backtick", "A=\"x\"\n", {{"A", "a`b"}}, "A='a`b'\n"},
        {"trailing backslash cannot be single-quoted", "", {{"A", "a b\\"}}, "A=\"a b\\\\\"\n"},
        {"newline value single-quoted across lines", "", {{"A", "l1\nl2"}}, "A='l1\nl2'\n"},
        {"empty value", "A=1\n", {{"A", ""}}, "A=\n"},
        {"empty value in quotes stays quoted", "A=\"1\"\n", {{"A", ""}}, "A=\"\"\n"},
        {"empty value before an inline comment is quoted", "A=1 # c\n", {{"A", ""}}, "A='' # c\n"},
        {"empty original value replaced", "A=\nB=1\n", {{"A", "x"}}, "A=x\nB=1\n"},
        {"inline comment kept", "A=1 # the port\n", {{"A", "2"}}, "A=2 # the port\n"},
        {"inline comment after quotes kept", "A='1' # c\n", {{"A", "2 3"}}, "A='2 3' # c\n"},
        {"trailing blanks kept", "A=1   \nB=2\n", {{"A", "3"}}, "A=3   \nB=2\n"},
        {"CRLF kept on the rewritten line", "A=1\r\nB=2\r\n", {{"A", "3"}}, "A=3\r\nB=2\r\n"},
        {"CRLF used for appended lines", "A=1\r\n", {{"B", "2"}}, "A=1\r\nB=2\r\n"},
        {"CRLF file without final newline", "A=1\r\nB=2", {{"C", "3"}}, "A=1\r\nB=2\r\nC=3\r\n"},
        {"duplicate keys all rewritten", "A=1\nB=x\nA=2\n", {{"A", "3"}}, "A=3\nB=x\nA=3\n"},
        {"duplicates keep their own style", "A='1'\nexport A=\"2\"\n", {{"A", "v w"}}, "A='v w'\nexport A=\"v w\"\n"},
        {"multi-line value of another key kept", "C=\"-----BEGIN\nA=evil\n-----END\"\nA=1\n", {{"A", "2"}},
         "C=\"-----BEGIN\nA=evil\n-----END\"\nA=2\n"},
        {"multi-line value replaced as a whole", "A='l1\nl2'\nB=1\n", {{"A", "one"}}, "A='one'\nB=1\n"},
        {"escaped quote inside double quotes", "A=\"x\\\"y\"\nB=1\n", {{"B", "2"}}, "A=\"x\\\"y\"\nB=2\n"},
        {"key prefix does not match", "AB=1\nA_B=2\n", {{"A", "3"}}, "AB=1\nA_B=2\nA=3\n"},
        {"keys are case-sensitive", "a=1\n", {{"A", "2"}}, "a=1\nA=2\n"},
        {"commented-out key not touched", "#A=1\n", {{"A", "2"}}, "#A=1\nA=2\n"},
        {"garbage lines kept", "this is not an assignment\nA=1\n", {{"A", "2"}}, "this is not an assignment\nA=2\n"},
        {"a key given twice takes the last value", "", {{"A", "1"}, {"A", "2"}}, "A=2\n"},
        {"byte order mark kept", "\xEF\xBB\xBF" "A=1\n", {{"A", "2"}}, "\xEF\xBB\xBF" "A=2\n"},
        {"unicode value quoted", "", {{"A", "caf\xC3\xA9"}}, "A='caf\xC3\xA9'\n"},
        {"tilde is quoted", "", {{"A", "~/x"}}, "A='~/x'\n"},
        {"no updates changes nothing", "A=1\n# c\r\nB", {}, "A=1\n# c\r\nB"},
        {"unterminated quote: only its line is the value", "A=\"open\nB=1\n", {{"A", "x"}}, "A=x\nB=1\n"},
        {"both ' and ` refused", "A=1\n", {{"A", "it's `cmd`"}}, "", true},
        {"NUL refused", "", {{"A", std::string("a\0b", 3)}}, "", true},
        {"invalid key refused", "", {{"1A", "x"}}, "", true},
        {"key with a dash refused", "", {{"A-B", "x"}}, "", true},
    };
    return k;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_env_file)

BOOST_AUTO_TEST_CASE(table_of_rewrites) {
    BOOST_TEST(cases().size() >= 40u);
    for (const auto& c : cases()) {
        BOOST_TEST_CONTEXT(c.name) {
            auto r = rewrite_env(c.before, c.updates);
            if (c.refused) {
                BOOST_TEST(!r.has_value());
                continue;
            }
            BOOST_TEST_REQUIRE(r.has_value());
            BOOST_TEST(r->text == c.after);
            // What compose reads back: each updated key has exactly its value.
            const auto read = taskd::test::read_env_like_compose(r->text);
            for (const auto& [k, v] : c.updates) {
                std::string last;
                for (const auto& [k2, v2] : c.updates)
                    if (k2 == k) last = v2;
                BOOST_TEST(read.count(k) == 1u);
                if (read.count(k)) BOOST_TEST(read.at(k) == last);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(updated_and_added_are_reported_in_order) {
    auto r = rewrite_env("B=1\nA=1\n", {{"A", "x"}, {"N", "y"}, {"B", "z"}, {"M", "w"}});
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST((r->updated == std::vector<std::string>{"A", "B"}));
    BOOST_TEST((r->added == std::vector<std::string>{"N", "M"}));
}

BOOST_AUTO_TEST_SUITE_END()
