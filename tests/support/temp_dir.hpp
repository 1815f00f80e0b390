// TempDir: a fresh directory under $TMPDIR, removed with everything in it at scope end.
#pragma once

#include <filesystem>
#include <string>

namespace taskd::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace taskd::test
