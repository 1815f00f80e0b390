// atomic_file: reading and replacing one file inside a directory the caller holds open (see
// confinement.hpp), so that neither can be redirected by a symlink or a renamed directory.
//
// replace_file writes a temp file in the same directory, fsyncs it, renames it over the name
// and fsyncs the directory: a crash or an error at any step leaves the old file as it was
// (an error also removes the temp file). Stateless; safe from any thread.
#pragma once

#include "agent/failure.hpp"

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace taskd::agent {

// A .env larger than this is refused rather than read into memory: no real one comes close.
inline constexpr std::size_t kMaxReadBytes = 16u << 20;

struct FileContent {
    std::string bytes;
    mode_t mode = 0;  // permission bits, kept when the file is replaced
};

// The regular file `name` in `dir_fd`; nullopt when it does not exist. A symlink, a directory,
// a FIFO or anything else not a regular file fails (a FIFO would block the read forever).
// `shown` names the file in messages.
Outcome<std::optional<FileContent>> read_file_at(int dir_fd, const std::string& name, std::string_view shown);

// Replaces (or creates) `name` in `dir_fd` with `content`, permissions `mode` (umask ignored).
// A replaced file keeps its owner and group where the agent may set them (as root).
// An existing symlink or directory at `name` fails the write and is left alone.
Outcome<void> replace_file(int dir_fd, const std::string& name, std::string_view content, mode_t mode,
                           std::string_view shown);

// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace taskd::agent
