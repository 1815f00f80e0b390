// TestCa: a throw-away certificate authority for TLS tests, made with the `openssl` command
// line in a directory of the test's. Its server certificates name localhost and 127.0.0.1, so
// that a client verifying the host name accepts them on loopback.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace taskd::test {

struct TestCertificate {
    std::filesystem::path cert;  // PEM
    std::filesystem::path key;   // PEM, unencrypted
};

class TestCa {
public:
    // Writes <dir>/<name>-ca.pem and its key; throws if openssl fails.
    TestCa(std::filesystem::path dir, std::string name);

    const std::filesystem::path& cert() const { return cert_; }
    // A server certificate signed by this CA, subject CN=<common_name>, with `serial`; files
    // <dir>/<common_name>.pem and .key. Throws if openssl fails.
    TestCertificate issue(const std::string& common_name, std::uint64_t serial) const;

private:
    std::filesystem::path dir_;
    std::filesystem::path cert_;
    std::filesystem::path key_;
};

}  // namespace taskd::test
