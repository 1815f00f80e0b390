#include "auth/admin_token.hpp"

#include "auth/token.hpp"
#include "util/file.hpp"

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

boost::system::result<std::string, AdminTokenError> read_token(const std::filesystem::path& path) {
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
