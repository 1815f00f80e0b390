#include "test_pki.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace taskd::test {

namespace {

void run(const std::string& command) {
    // openssl chats on stderr even when it succeeds; its exit status is what counts.
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
        throw std::runtime_error("TestCa: failed: " + command);
}

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TestCa::TestCa(std::filesystem::path dir, std::string name)
    : dir_(std::move(dir)), cert_(dir_ / (name + "-ca.pem")), key_(dir_ / (name + "-ca.key")) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" + name +
        " -keyout " + quoted(key_) + " -out " + quoted(cert_));
}

TestCertificate TestCa::issue(const std::string& common_name, std::uint64_t serial) const {
    const TestCertificate out{dir_ / (common_name + ".pem"), dir_ / (common_name + ".key")};
    const auto request = dir_ / (common_name + ".csr");
    const auto extensions = dir_ / (common_name + ".ext");
    std::ofstream(extensions) << "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                 "extendedKeyUsage=serverAuth\n";
    run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + common_name + " -keyout " +
        quoted(out.key) + " -out " + quoted(request));
    run("openssl x509 -req -days 2 -set_serial " + std::to_string(serial) + " -in " + quoted(request) + " -CA " +
        quoted(cert_) + " -CAkey " + quoted(key_) + " -extfile " + quoted(extensions) + " -out " + quoted(out.cert));
    return out;
}

}  // namespace taskd::test
