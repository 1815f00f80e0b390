// taskd-agent against taskd over HTTPS (README "TLS"): with --tls-ca naming the CA that signed
// taskd's certificate the agent claims and completes a task; without it (the system's store,
// which does not know the test's CA), with another CA, or reaching the server by an address
// the certificate does not name, it refuses the server and says why, and no task is claimed.
//
// Synchronisation, never sleeps: the agent's refusal is its log line; a task's end is polled
// through the API with a bound.
#include "agent_process.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"
#include "tls_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace taskd::test;
namespace fs = std::filesystem;

namespace {

constexpr int kMaxPolls = 20'000;

// taskd on 0.0.0.0 (so that 127.0.0.2, which its certificate does not name, reaches it too)
// with a certificate for localhost and 127.0.0.1, and one agent registered.
struct TlsAgentFixture {
    TlsAgentFixture() : ca(dir.path(), "agent-test"), cert(ca.issue("taskd", 7)), root(dir.path() / "root") {
        fs::create_directories(root);
        server.start(dir.path() / "data", {"--listen", "0.0.0.0:0", "--tls-cert", cert.cert.string(), "--tls-key",
                                           cert.key.string()});
        admin = std::make_unique<TlsClient>(server.port(), ca.cert());
        admin->set_token(server.admin_token());
        tenant = "2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44";
        const auto r = admin->request("POST", "/agents", R"({"name":"edge-tls","tenant_id":")" + tenant + R"("})");
        if (r.status != 201) throw std::runtime_error("register: " + r.body);
        agent_id = std::string(r.json().at("id").as_string());
        std::ofstream(dir.path() / "token") << std::string(r.json().at("token").as_string()) << "\n";
    }

    std::vector<std::string> agent_args(const std::string& host, const std::vector<std::string>& extra) const {
        std::vector<std::string> args{"--server", "https://" + host + ":" + std::to_string(server.port()),
                                      "--agent-id", agent_id, "--token-file", (dir.path() / "token").string(),
                                      "--allow-root", root.string(), "--backoff-max", "200ms", "--poll-wait", "1s"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    std::string create_file_write() {
        const std::string payload = R"({"path":")" + (root / "hello.txt").string() + R"(","content":"over tls"})";
        const auto r = admin->request(
            "POST", "/tasks", R"({"tenant_id":")" + tenant + R"(","type":"FILE_WRITE","payload":)" + payload + "}");
        if (r.status != 201) throw std::runtime_error("create: " + r.body);
        return std::string(r.json().at("id").as_string());
    }

    std::string status(const std::string& id) {
        return std::string(admin->get("/tasks/" + id).json().at("status").as_string());
    }

    TempDir dir;
    TestCa ca;
    TestCertificate cert;
    fs::path root;
    ServerProcess server;
    std::unique_ptr<TlsClient> admin;
    std::string tenant;
    std::string agent_id;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_tls)

BOOST_FIXTURE_TEST_CASE(with_tls_ca_the_agent_completes_a_task, TlsAgentFixture) {
    for (const char* host : {"127.0.0.1", "localhost"}) {  // the certificate's IP SAN, then its DNS SAN
        BOOST_TEST_CONTEXT(host) {
            fs::remove(root / "hello.txt");
            const std::string id = create_file_write();
            AgentProcess agent;
            agent.start(agent_args(host, {"--tls-ca", ca.cert().string()}));
            std::string now = status(id);
            for (int polls = 0; now != "completed" && now != "failed" && polls < kMaxPolls; ++polls) now = status(id);
            BOOST_TEST(now == "completed", agent.log());
            BOOST_TEST(agent.stop() == 0);
            std::ifstream in(root / "hello.txt");
            BOOST_TEST(std::string(std::istreambuf_iterator<char>(in), {}) == "over tls");
        }
    }
}

BOOST_FIXTURE_TEST_CASE(an_untrusted_certificate_is_refused, TlsAgentFixture) {
    const std::string id = create_file_write();
    TestCa stranger(dir.path(), "stranger");
    struct Case {
        std::string name, host;
        std::vector<std::string> extra;
    };
    const std::vector<Case> cases{
        {"the system's store", "127.0.0.1", {}},
        {"another CA", "127.0.0.1", {"--tls-ca", stranger.cert().string()}},
        {"an address the certificate does not name", "127.0.0.2", {"--tls-ca", ca.cert().string()}},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            AgentProcess agent;
            agent.start(agent_args(c.host, c.extra));
            BOOST_TEST(agent.wait_for_log("the server's certificate is not trusted"), agent.log());
            BOOST_TEST(agent.stop() == 0);
            BOOST_TEST(status(id) == "pending");  // nothing was claimed over the refused connection
        }
    }
}

BOOST_AUTO_TEST_CASE(a_tls_ca_that_cannot_be_read_stops_the_start) {
    TempDir dir;
    std::ofstream(dir.path() / "token") << "tok-123\n";
    std::ofstream(dir.path() / "garbage.pem") << "not a certificate\n";
    for (const auto& [ca, expect] : {std::pair{std::string("/nonexistent/ca.pem"), std::string("No such file")},
                                     {(dir.path() / "garbage.pem").string(), "no PEM certificate"}}) {
        BOOST_TEST_CONTEXT(ca) {
            std::string output;
            const int status = AgentProcess::run_to_exit(
                {"--server", "https://127.0.0.1:1", "--agent-id", "2f4c1a9e-5b1d-4c8e-9a57-3d2b6f1e0c44",
                 "--token-file", (dir.path() / "token").string(), "--allow-root", dir.path().string(), "--tls-ca", ca},
                output);
            BOOST_TEST(status == 2);
            BOOST_TEST(output.find(expect) != std::string::npos, output);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
