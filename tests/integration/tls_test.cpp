// HTTPS (README "TLS"): taskd --tls-cert --tls-key on the real binary, with a CA and server
// certificates made for the test by the openssl command line. A round trip; plain HTTP to the
// TLS port answered 400; a client that sends nothing closed at the header timeout; bad files
// stop the start; SIGHUP gives new connections the new certificate while open ones go on, and
// a failed reload keeps the old one; a long poll whose client hangs up (with or without
// close_notify) stops waiting; the warning for plain HTTP on a non-loopback address.
//
// Synchronisation, never sleeps: a reload has happened once the server logs it; a long poll
// waits, and has been let go, once /metrics counts one waiter, then none (asked again, a
// bounded number of times).
#include "fixture.hpp"
#include "raw_connection.hpp"
#include "test_pki.hpp"
#include "tls_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>

using namespace taskd::test;
namespace fs = std::filesystem;

namespace {

constexpr int kMaxPolls = 20'000;

// A CA, a first server certificate, and taskd serving it from cert.pem / key.pem in its own
// directory (the files a reload reads again).
struct TlsFixture {
    explicit TlsFixture(std::vector<std::string> extra_args = {})
        : ca(pki.path(), "test"), first(ca.issue("first", 1001)) {
        fs::copy_file(first.cert, cert_file);
        fs::copy_file(first.key, key_file);
        std::vector<std::string> args{"--tls-cert", cert_file.string(), "--tls-key", key_file.string()};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        server.start(data.path() / "data", args);
    }

    TlsClient client(bool admin = true) {
        TlsClient c(server.port(), ca.cert());
        if (admin) c.set_token(server.admin_token());
        return c;
    }
    // Puts `c` where taskd reads its certificate from.
    void install(const TestCertificate& c) {
        fs::copy_file(c.cert, cert_file, fs::copy_options::overwrite_existing);
        fs::copy_file(c.key, key_file, fs::copy_options::overwrite_existing);
    }

    TempDir pki;
    TempDir data;
    TestCa ca;
    TestCertificate first;
    fs::path cert_file = pki.path() / "cert.pem";
    fs::path key_file = pki.path() / "key.pem";
    ServerProcess server;
};

std::string post_task(TlsClient& c) {
    const auto r = c.request("POST", "/tasks", R"({"tenant_id":")" + new_uuid() + R"(","type":"noop","payload":{}})");
    BOOST_TEST_REQUIRE(r.status == 201u, r.body);
    return std::string(r.json().at("id").as_string());
}

// One sample of GET /metrics, e.g. "taskd_long_poll_waiters".
std::string metric(TlsClient& admin, const std::string& name) {
    const auto body = admin.get("/metrics").body;
    const auto at = body.find("\n" + name + " ");
    BOOST_TEST_REQUIRE(at != std::string::npos, name);
    const auto start = at + name.size() + 2;
    return body.substr(start, body.find('\n', start) - start);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(a_task_round_trip_over_tls) {
    TlsFixture f;
    BOOST_TEST(f.server.log().find("listening on https://127.0.0.1:") != std::string::npos, f.server.log());
    auto c = f.client();
    BOOST_TEST(c.peer_common_name() == "first");
    const std::string id = post_task(c);
    const auto r = c.get("/tasks/" + id);
    BOOST_TEST_REQUIRE(r.status == 200u, r.body);
    BOOST_TEST(r.json().at("id").as_string() == id);
    BOOST_TEST(r.json().at("status").as_string() == "pending");
}

BOOST_AUTO_TEST_CASE(plain_http_to_the_tls_port_is_answered_400) {
    TlsFixture f;
    HttpClient plain(f.server.port());
    const auto r = plain.send_raw("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->status == 400u);
    BOOST_TEST(r->body.find("HTTPS") != std::string::npos, r->body);
    BOOST_TEST(f.client().get("/healthz").status == 200u);  // and the server goes on
}

BOOST_AUTO_TEST_CASE(a_client_that_sends_nothing_is_closed_at_the_header_timeout) {
    TlsFixture f({"--header-timeout", "200ms"});
    // The handshake never begins; without a deadline on it the wait below would reach its own
    // bound (15 s) and fail.
    RawConnection silent(f.server.port());
    BOOST_TEST(silent.closed_by_server());
    BOOST_TEST(f.server.log().find("ERROR") == std::string::npos, f.server.log());
}

BOOST_AUTO_TEST_CASE(unusable_files_stop_the_start_with_exit_2) {
    TempDir dir;
    TestCa ca(dir.path(), "start");
    const auto good = ca.issue("good", 1);
    const auto other = ca.issue("other", 2);
    const auto garbage = dir.path() / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";
    const auto data = (dir.path() / "data").string();
    struct Case {
        std::string cert, key, expect;
    };
    const std::vector<Case> cases{
        {(dir.path() / "missing.pem").string(), good.key.string(), "No such file"},
        {good.cert.string(), (dir.path() / "missing.key").string(), "No such file"},
        {garbage.string(), good.key.string(), "not a PEM certificate"},
        {good.cert.string(), garbage.string(), "--tls-key"},
        {good.cert.string(), other.key.string(), "--tls-key"},  // another certificate's key
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.cert << " " << c.key) {
            std::string output;
            const int status = ServerProcess::run_to_exit(
                {"--data-dir", data, "--listen", "127.0.0.1:0", "--tls-cert", c.cert, "--tls-key", c.key},
                &output);
            BOOST_TEST(status == 2);
            BOOST_TEST(output.find(c.expect) != std::string::npos, output);
            BOOST_TEST(std::count(output.begin(), output.end(), '\n') == 1, output);
        }
    }
}

BOOST_AUTO_TEST_CASE(sighup_gives_new_connections_the_new_certificate_and_keeps_open_ones) {
    TlsFixture f;
    auto before = f.client();
    BOOST_TEST_REQUIRE(before.get("/healthz").status == 200u);
    BOOST_TEST(before.peer_serial() == 1001u);

    f.install(f.ca.issue("second", 2002));
    f.server.signal(SIGHUP);
    BOOST_TEST_REQUIRE(f.server.wait_for_log("SIGHUP: TLS certificate reloaded"), f.server.log());

    auto after = f.client();
    BOOST_TEST(after.peer_serial() == 2002u);
    BOOST_TEST(after.peer_common_name() == "second");
    BOOST_TEST(after.get("/healthz").status == 200u);
    // The connection opened before the reload still answers, on the certificate it began with.
    const std::string id = post_task(before);
    BOOST_TEST(before.get("/tasks/" + id).status == 200u);
    BOOST_TEST(before.peer_serial() == 1001u);
}

BOOST_AUTO_TEST_CASE(a_failed_reload_keeps_the_previous_certificate) {
    TlsFixture f;
    std::ofstream(f.cert_file, std::ios::trunc) << "not a certificate\n";
    f.server.signal(SIGHUP);
    BOOST_TEST_REQUIRE(f.server.wait_for_log("SIGHUP: TLS certificate not reloaded"), f.server.log());
    BOOST_TEST(f.server.log().find("--tls-cert " + f.cert_file.string() + ": not a PEM certificate") !=
               std::string::npos, f.server.log());
    auto c = f.client();
    BOOST_TEST(c.peer_serial() == 1001u);
    BOOST_TEST(c.get("/healthz").status == 200u);
    BOOST_TEST(f.server.running());
}

BOOST_AUTO_TEST_CASE(a_long_poll_whose_client_hangs_up_stops_waiting) {
    for (const bool close_notify : {true, false}) {
        BOOST_TEST_CONTEXT("close_notify " << close_notify) {
            TlsFixture f;
            auto admin = f.client();
            const std::string tenant = new_uuid();
            const auto r = admin.request("POST", "/agents", R"({"name":"waiter","tenant_id":")" + tenant + R"("})");
            BOOST_TEST_REQUIRE(r.status == 201u, r.body);
            const std::string agent_id(r.json().at("id").as_string());
            auto waiter = f.client(false);
            waiter.set_token(std::string(r.json().at("token").as_string()));
            // An answer read first: the client has read all the server sent (TLS 1.3 session
            // tickets included), so that its close is a FIN after close_notify, not a reset.
            BOOST_TEST_REQUIRE(waiter.get("/healthz").status == 200u);
            waiter.send("GET", "/tasks/next?agent_id=" + agent_id + "&wait=60");
            // The poll authenticates (last_seen_at) a moment before it waits: wait for the wait.
            int polls = 0;
            while (metric(admin, "taskd_long_poll_waiters") != "1" && ++polls < kMaxPolls) {
            }
            BOOST_TEST_REQUIRE(polls < kMaxPolls, "the long poll never began waiting");

            waiter.hang_up(close_notify);
            polls = 0;
            while (metric(admin, "taskd_long_poll_waiters") != "0" && ++polls < kMaxPolls) {
            }
            BOOST_TEST(polls < kMaxPolls, "the server still holds the long poll of a client that has gone");
        }
    }
}

BOOST_AUTO_TEST_CASE(plain_http_on_a_non_loopback_address_is_warned_about) {
    ServerFixture open({"--listen", "0.0.0.0:0"});
    BOOST_TEST(open.server.log().find("WARN  serving plain HTTP on 0.0.0.0:") != std::string::npos, open.server.log());
    ServerFixture loopback;
    BOOST_TEST(loopback.server.log().find("serving plain HTTP") == std::string::npos, loopback.server.log());
    TlsFixture tls({"--listen", "0.0.0.0:0"});
    BOOST_TEST(tls.server.log().find("serving plain HTTP") == std::string::npos, tls.server.log());
}

BOOST_AUTO_TEST_SUITE_END()
