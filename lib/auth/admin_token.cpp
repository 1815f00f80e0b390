#include "auth/admin_token.hpp"

#include "auth/token.hpp"
#include "util/file.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace taskd::auth {
namespace {

std::string trimmed(std::string s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

// A token that others on the machine can read is everyone's token: the file must be readable
// by its owner alone (0600 or 0400), as ssh insists for private keys.
boost::system::result<void, AdminTokenError> check_private(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return AdminTokenError{"cannot read admin token file " + path.string()};
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0) return {};
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return AdminTokenError{"admin token file " + path.string() + " is open to group or others (mode " + mode +
                           "); make it private: chmod 600 " + path.string()};
}

boost::system::result<std::string, AdminTokenError> read_token(const std::filesystem::path& path) {
    if (auto ok = check_private(path); !ok) return ok.error();
    std::ifstream in(path, std::ios::binary);
    if (!in) return AdminTokenError{"cannot read admin token file " + path.string()};
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = trimmed(text.str());
    if (token.size() < kMinAdminTokenLength)
        return AdminTokenError{"admin token in " + path.string() + " is shorter than " +
                               std::to_string(kMinAdminTokenLength) + " characters"};
    return {boost::system::in_place_value, std::move(token)};
}

}  // namespace

boost::system::result<AdminToken, AdminTokenError> load_admin_token(const std::string& token_file,
                                                                     const std::string& env_token,
                                                                     const std::filesystem::path& data_dir) {
    if (!token_file.empty()) {
        auto token = read_token(token_file);
        if (!token) return token.error();
        return AdminToken{std::move(*token), "file " + token_file};
    }
    if (!env_token.empty()) {
        std::string token = trimmed(env_token);
        if (token.size() < kMinAdminTokenLength)
            return AdminTokenError{"TASKD_ADMIN_TOKEN is shorter than " + std::to_string(kMinAdminTokenLength) +
                                   " characters"};
        return AdminToken{std::move(token), "environment TASKD_ADMIN_TOKEN"};
    }
    const auto path = data_dir / "admin.token";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        auto token = read_token(path);
        if (!token) return token.error();
        return AdminToken{std::move(*token), "file " + path.string()};
    }
    std::string token = generate_token();
    if (auto written = util::write_file_atomic(path, token + "\n", 0600); !written)
        return AdminTokenError{"cannot write " + path.string() + ": " + written.error().message()};
    return AdminToken{std::move(token), "generated into " + path.string()};
}

}  // namespace taskd::auth
