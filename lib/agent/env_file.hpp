// env_file: the ENV_UPDATE rewriter, a pure function from (the bytes of a .env file, updates) to
// the bytes of the new file.
//
// Only the values of the named keys change. Every other byte stays as it was: comments, blank
// lines, order, `export ` prefixes, spaces around `=`, inline comments after a value, CRLF line
// ends, a missing final newline, multi-line quoted values of other keys. A key that appears more
// than once has every occurrence rewritten (readers differ on which one wins; after the update
// they all agree). Keys not in the file are appended at the end, in the order given.
//
// A new value keeps the quoting style of the value it replaces when that style can hold it, and
// is otherwise written in the first of these that both `docker compose` (compose-go's dotenv
// parser, v2) and a POSIX shell (`. file`) read back as exactly the value given:
//   unquoted       only [A-Za-z0-9_./:@%+,=-] (nothing either reader interprets)
//   'single'       no `'`, not ending in `\` (compose reads `\'` as an escaped quote)
//   "double"       `\`, `"`, `$` escaped with a backslash; no backtick (the shell needs it
//                  escaped, compose keeps the backslash)
// A value none of them can hold (one with both `'` and a backtick, or a NUL byte) is refused.
//
// Files are scanned as compose-go does: an assignment is `[export ]NAME[ ]=[ ]value`; a value
// that opens with a quote runs to the matching quote, across lines, a backslash escaping the
// next byte. Pure and thread-safe.
#pragma once

#include "agent/failure.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskd::agent {

struct EnvUpdateResult {
    std::string text;                  // the new file
    std::vector<std::string> updated;  // keys found in the file, in the order of `updates`
    std::vector<std::string> added;    // keys appended, in the order of `updates`
};

// `updates` in the order they should be appended; a key given twice takes its last value.
// Fails (and changes nothing) when a key is not [A-Za-z_][A-Za-z0-9_]* or a value cannot be
// written so that both readers read it back.
Outcome<EnvUpdateResult> rewrite_env(
    std::string_view original, const std::vector<std::pair<std::string, std::string>>& updates);

// How a value is written: `KEY=<this>`. nullopt when no quoting works for both readers.
enum class EnvQuote { none, single, double_ };
std::optional<std::string> quote_env_value(std::string_view value, EnvQuote preferred);

// True for [A-Za-z_][A-Za-z0-9_]*.
bool is_env_key(std::string_view key);

// One assignment found in a file: byte ranges into the text it was scanned from.
struct EnvEntry {
    std::string_view key;
    std::size_t begin = 0;        // first byte of the entry's first line
    std::size_t value_begin = 0;  // the value as written (quotes included)
    std::size_t value_end = 0;
    std::size_t end = 0;  // one past the entry's last line terminator
    EnvQuote quote = EnvQuote::none;
};

// Every assignment of `text`, in order (comments, blank and unparsable lines are skipped).
std::vector<EnvEntry> scan_env(std::string_view text);

}  // namespace taskd::agent
