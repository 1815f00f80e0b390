// The admin token: the control plane's credential.
//
// Where it comes from, in order: --admin-token-file, then TASKD_ADMIN_TOKEN, then
// <data-dir>/admin.token; if that file does not exist a new token is generated and written
// there (mode 0600, atomically), so a restart keeps the same token. A token file that group or
// others may read or write is refused (the start fails with one line saying so).
#pragma once

#include <boost/system/result.hpp>

#include <filesystem>
#include <string>

namespace taskd::auth {

inline constexpr std::size_t kMinAdminTokenLength = 16;  // shorter is guessable

struct AdminToken {
    std::string token;
    std::string origin;  // for the log: "file /x", "environment", "generated into /x"
};

struct AdminTokenError {
    std::string message;  // one line for the operator
};

boost::system::result<AdminToken, AdminTokenError> load_admin_token(const std::string& token_file,
                                                                     const std::string& env_token,
                                                                     const std::filesystem::path& data_dir);

}  // namespace taskd::auth
