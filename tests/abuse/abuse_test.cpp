// Connection abuse against the real taskd, on loopback (issue 19, item 2): a 2,000-connection
// slowloris, clients that pipeline requests and never read the answers, idle connections up to
// --max-connections, one connection pipelining 100,000 requests, and one address taking every
// connection. Throughout, a well-behaved client (127.0.0.1) creates, reads and claims tasks and
// opens a fresh connection each round, and every one of its requests must succeed; afterwards
// the server's descriptors are back at their count before the abuse and its resident memory near
// it.
//
// The abusers connect from 127.0.0.2 (all of 127.0.0.0/8 is on lo): another client address to
// the server. Every wait is for an event (a close, an answer, a count coming back) with a
// generous bound, never a pause standing in for one; the drip's pace is the abuse itself.
#include "client_socket.hpp"
#include "fixture.hpp"
#include "process_usage.hpp"
#include "raw_connection.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace taskd::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kAbuser = "127.0.0.2";
// The bound on every wait for an event: far past what each takes, so that only a server that
// never gets there fails.
constexpr auto kEventBound = 90s;
// The well-behaved client's pace: at most one round (four requests) per this.
constexpr auto kRoundEvery = 20ms;
// How often a wait for a count looks again (a poll of /proc, not a pause standing in for an event).
constexpr auto kPollEvery = 10ms;

// Resident memory after the abuse may exceed the figure before it by this much. What the server
// may keep is the allocator's: freed memory of the abusers' connections kept for reuse (a 16 KiB
// read buffer, coroutine frames, a parser and Asio's descriptor state each) and AddressSanitizer's
// quarantine, which the server is started with at 16 MiB (kQuarantine). Measured after the
// 2,000-connection slowloris: 48 MiB under AddressSanitizer, quarantine included; 20-26 MiB in a
// Release build. A server that kept what the abuse sent it (the never-read flood asks for ~6.5 GB
// of answers, the pipelined flood sends ~100 MB of requests) is far past it.
constexpr std::size_t kResidentSlackBytes = 64u << 20;
// A second wave of the same abuse finds the first one's freed memory to reuse: it may add no
// more than this (AddressSanitizer's quarantine turning over, allocator caches), far less than
// the 20-50 MB a wave's connections take, so that memory kept per connection would show.
constexpr std::size_t kRepeatSlackBytes = 16u << 20;
// The server's allocators, set so that its resident memory measures the server. AddressSanitizer
// keeps freed memory in a quarantine, 256 MiB by default, which would be most of the figure: 16
// MiB here (kQuarantine; a server built without ASan ignores it). glibc's malloc gives each
// serving thread an arena of its own, so that a second wave could fill an arena the first left
// empty: one arena here (a server built with ASan ignores that).
const std::string kQuarantine = "quarantine_size_mb=16";

std::vector<std::string> allocator_env() {
    const char* inherited = std::getenv("ASAN_OPTIONS");
    return {"ASAN_OPTIONS=" + (inherited ? std::string(inherited) + ":" : std::string()) + kQuarantine,
            "MALLOC_ARENA_MAX=1"};
}

// Two thousand client sockets and the server's as many: more than a default soft limit of 1024.
struct RaiseDescriptorLimit {
    RaiseDescriptorLimit() {
        rlimit limit{};
        if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
};

struct Usage {
    std::size_t descriptors = 0;
    std::size_t resident = 0;
};

Usage usage_of(const ServerProcess& server) { return {open_descriptors(server.pid()), resident_bytes(server.pid())}; }

std::string mib(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// The largest figures seen while the abuse lasts.
struct Peak {
    Usage most;
    void sample(const ServerProcess& server) {
        const Usage now = usage_of(server);
        most.descriptors = std::max(most.descriptors, now.descriptors);
        most.resident = std::max(most.resident, now.resident);
    }
};

// Waits until `done()` holds; false when kEventBound passes first.
template <class Done>
bool eventually(Done done) {
    const auto deadline = Clock::now() + kEventBound;
    while (!done()) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(kPollEvery);
    }
    return true;
}

// Once the abusers are gone and the server has noticed: its descriptors back at their count
// before the abuse (none leaked), its resident memory within kResidentSlackBytes of it and, after
// a second wave of the same abuse, within kRepeatSlackBytes of what the first left. Returns the
// figures after.
Usage check_back_to_baseline(const ServerProcess& server, const Usage& before, const std::optional<Usage>& after_first,
                             const Peak& peak) {
    std::size_t descriptors = 0;
    const bool back = eventually([&] { return (descriptors = open_descriptors(server.pid())) <= before.descriptors; });
    BOOST_TEST(back, "server descriptors " << descriptors << ", before the abuse " << before.descriptors);
    const Usage after = usage_of(server);
    BOOST_TEST_MESSAGE("server descriptors before " << before.descriptors << ", peak " << peak.most.descriptors
                                                    << ", after " << after.descriptors << "; resident before "
                                                    << mib(before.resident) << ", peak " << mib(peak.most.resident)
                                                    << ", after " << mib(after.resident));
    BOOST_TEST(after.resident <= before.resident + kResidentSlackBytes,
               "resident " << mib(after.resident) << " after, " << mib(before.resident) << " before");
    if (after_first)
        BOOST_TEST(after.resident <= after_first->resident + kRepeatSlackBytes,
                   "resident " << mib(after.resident) << " after the second wave, " << mib(after_first->resident)
                               << " after the first");
    return after;
}

// The client the abuse must not hurt: on its own keep-alive connections (admin and agent) it
// creates a task, reads it back and claims it, then asks /healthz on a fresh connection, so that
// accepting new connections is checked too. Any other answer is a failure.
class WellBehavedClient {
public:
    explicit WellBehavedClient(ServerFixture& f)
        : port_(f.server.port()), tenant_(new_uuid()), admin_(f.server.port()), agent_(f.server.port()) {
        admin_.set_token(f.server.admin_token());
        auto agent = admin_.post("/agents", R"({"name":"well-behaved","tenant_id":")" + tenant_ + R"("})");
        if (agent.status != 201) throw std::runtime_error("register the agent: " + agent.body);
        agent_id_ = std::string(agent.json().at("id").as_string());
        agent_.set_token(std::string(agent.json().at("token").as_string()));
    }

    // Its admin connection, for a test's own setup before the abuse.
    HttpClient& admin() { return admin_; }

    // One round on the kept connections only: before the abuse, so that the baseline counts
    // exactly these connections.
    void warm_up() {
        if (auto failure = round(false)) throw std::runtime_error("warm-up: " + *failure);
    }

    // Rounds, fresh connection included, on a thread of their own until stop(): one every
    // kRoundEvery at most. A client, not a load generator: unpaced, it would take the CPU from the
    // server and fill the store with thousands of tasks, whose memory would count as the abuse's.
    void start() {
        stopping_ = false;
        thread_ = std::thread([this] {
            for (auto next = Clock::now(); !stopping_; next += kRoundEvery) {
                auto failure = round(true);
                {
                    std::lock_guard lock(mutex_);
                    if (failure) failures_.push_back(*failure);
                    ++rounds_;
                }
                std::this_thread::sleep_until(next + kRoundEvery);  // the client's pace
            }
        });
    }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    ~WellBehavedClient() { stop(); }

    // Stops; every round since start() answered as it should be, and at least `min_rounds` of them.
    void check(int min_rounds = 1) {
        stop();
        for (const auto& f : failures_) BOOST_TEST_ERROR("well-behaved client: " << f);
        BOOST_TEST(rounds_ >= min_rounds, "the well-behaved client made " << rounds_ << " rounds");
        BOOST_TEST_MESSAGE("the well-behaved client made " << rounds_ << " rounds during the abuse");
        failures_.clear();
        rounds_ = 0;
    }
    int rounds() {
        std::lock_guard lock(mutex_);
        return rounds_;
    }

private:
    std::optional<std::string> round(bool fresh) {
        try {
            auto created = admin_.post("/tasks", R"({"tenant_id":")" + tenant_ + R"(","type":"noop"})");
            if (created.status != 201) return "create: " + std::to_string(created.status) + " " + created.body;
            const std::string id(created.json().at("id").as_string());
            auto read = admin_.get("/tasks/" + id);
            if (read.status != 200) return "get: " + std::to_string(read.status) + " " + read.body;
            auto claimed = agent_.get("/tasks/next?agent_id=" + agent_id_);
            if (claimed.status != 200 || claimed.json().is_null() || claimed.json().at("id").as_string() != id)
                return "claim: " + std::to_string(claimed.status) + " " + claimed.body;
            if (fresh) {
                HttpClient newcomer(port_);
                auto health = newcomer.get("/healthz");
                if (health.status != 200) return "fresh connection: " + std::to_string(health.status) + " " + health.body;
            }
            return std::nullopt;
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
    }

    unsigned short port_;
    std::string tenant_;
    std::string agent_id_;
    HttpClient admin_;
    HttpClient agent_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::vector<std::string> failures_;
    int rounds_ = 0;
};

bool has_detail(const std::string& body) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    return !ec && v.is_object() && v.as_object().contains("detail") && v.at("detail").is_string();
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(RaiseDescriptorLimit);

BOOST_AUTO_TEST_SUITE(abuse)

// 2,000 connections each drip a header byte every 250 ms, several times within the 2 s header
// timeout, and never finish it. The server must close every one while it is still dripping:
// the header timeout runs from the first byte to the end of the header, so a client cannot
// stretch it by sending a byte now and then (a deadline reset by each byte would never fire).
// Twice: the second wave must not leave the server bigger than the first did.
BOOST_AUTO_TEST_CASE(slowloris_is_cut_at_the_header_timeout_while_others_are_served) {
    constexpr int kSlow = 2000;
    constexpr auto kDripEvery = 250ms;
    ServerFixture f({"--header-timeout", "2s", "--max-connections", "4096", "--max-connections-per-ip", "0"},
                    allocator_env());
    WellBehavedClient client(f);
    client.warm_up();
    const Usage before = usage_of(f.server);
    // A header that is never finished: at one byte per drip it would take over ten minutes.
    const std::string header = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(3000, 'a');

    std::optional<Usage> after_first;
    for (int wave = 1; wave <= 2; ++wave) {
        BOOST_TEST_CONTEXT("wave " << wave) {
            Peak peak;
            std::vector<ClientSocket> slow;
            slow.reserve(kSlow);
            for (int i = 0; i < kSlow; ++i) slow.emplace_back(f.server.port(), kAbuser);
            std::vector<std::size_t> sent(kSlow, 0);
            client.start();

            int open = kSlow;
            const auto deadline = Clock::now() + kEventBound;
            for (auto next = Clock::now(); open > 0 && Clock::now() < deadline; next += kDripEvery) {
                for (int i = 0; i < kSlow; ++i) {
                    if (!slow[i].is_open()) continue;
                    if (slow[i].closed_by_server() ||
                        slow[i].send_some(std::string_view(header).substr(sent[i], 1)) < 0) {
                        slow[i].close();
                        --open;
                        continue;
                    }
                    ++sent[i];
                    BOOST_TEST_REQUIRE(sent[i] < header.size(), "connection " << i << " sent its whole header");
                }
                peak.sample(f.server);
                std::this_thread::sleep_until(next + kDripEvery);  // the drip's pace, not a synchronisation
            }
            BOOST_TEST(open == 0, open << " of " << kSlow << " dripping connections still open");
            BOOST_TEST_MESSAGE("bytes dripped per connection before the server closed it: up to "
                               << *std::max_element(sent.begin(), sent.end()));
            BOOST_TEST(peak.most.descriptors >= before.descriptors + kSlow / 2,
                       "the server never held the slow connections");
            client.check();
            after_first = check_back_to_baseline(f.server, before, after_first, peak);
        }
    }
}

// 200 connections each pipeline 500 GETs of a 64 KiB task (about 6.5 GB of answers asked for in
// all) and never read. The server answers one request at a time per connection and holds one
// answer while the socket is full, until the write timeout closes the connection: it must close
// every one while the abusers still hold them open, keep serving the well-behaved client, and
// give back the memory. Twice, as the slowloris.
BOOST_AUTO_TEST_CASE(clients_that_never_read_are_cut_at_the_write_timeout) {
    constexpr int kReaders = 200;
    constexpr int kPipelined = 500;
    ServerFixture f({"--write-timeout", "1s", "--max-connections", "4096", "--max-connections-per-ip", "0",
                     "--access-log=false"},
                    allocator_env());
    const std::string payload = R"({"content":")" + std::string(64 << 10, 'x') + R"("})";
    WellBehavedClient client(f);
    auto created = client.admin().post("/tasks", R"({"tenant_id":")" + new_uuid() + R"(","type":"big","payload":)" +
                                                     payload + "}");
    BOOST_TEST_REQUIRE(created.status == 201u);
    const std::string id(created.json().at("id").as_string());
    client.warm_up();
    const Usage before = usage_of(f.server);
    std::string burst;
    for (int i = 0; i < kPipelined; ++i) burst += raw_request("GET", "/tasks/" + id, f.server.admin_token());

    std::optional<Usage> after_first;
    for (int wave = 1; wave <= 2; ++wave) {
        BOOST_TEST_CONTEXT("wave " << wave) {
            Peak peak;
            std::vector<ClientSocket> readers;
            std::vector<std::size_t> sent(kReaders, 0);
            for (int i = 0; i < kReaders; ++i) readers.emplace_back(f.server.port(), kAbuser, 4096);
            client.start();

            // Send the bursts (as much as each socket takes; the rest as it drains) and wait until
            // the server has hung up on every reader, which never reads a byte.
            int open = kReaders;
            const bool all_cut = eventually([&] {
                for (int i = 0; i < kReaders; ++i) {
                    if (!readers[i].is_open()) continue;
                    if (readers[i].hung_up_by_server()) {
                        readers[i].close();  // closing reads nothing either
                        --open;
                        continue;
                    }
                    if (sent[i] < burst.size()) {
                        const long n = readers[i].send_some(std::string_view(burst).substr(sent[i]));
                        if (n > 0) sent[i] += static_cast<std::size_t>(n);
                    }
                }
                peak.sample(f.server);
                return open == 0;
            });
            BOOST_TEST(all_cut, open << " of " << kReaders << " connections that never read are still open");
            client.check();
            after_first = check_back_to_baseline(f.server, before, after_first, peak);
        }
    }
}

// Idle connections, half of them keep-alive after one answer and half silent since connecting,
// take every slot of --max-connections: one more is answered 503 with a detail and closed, the
// connections already admitted are still served, and once the idle ones leave a newcomer is
// served again.
BOOST_AUTO_TEST_CASE(idle_connections_up_to_the_limit_then_503_then_served_again) {
    constexpr int kLimit = 400;
    ServerFixture f({"--max-connections", std::to_string(kLimit), "--max-connections-per-ip", "0"}, allocator_env());
    WellBehavedClient client(f);
    client.warm_up();  // holds two connections (admin, agent) from here on
    const Usage before = usage_of(f.server);
    Peak peak;

    std::vector<ClientSocket> idle;
    for (int i = 0; i < kLimit / 2; ++i) idle.emplace_back(f.server.port(), kAbuser);  // silent
    std::optional<ClientSocket::Answer> refused;
    const std::string healthz = raw_request("GET", "/healthz");
    while (!refused && idle.size() < static_cast<std::size_t>(kLimit)) {
        ClientSocket s(f.server.port(), kAbuser);
        // Refused at accept, the answer comes unasked: send only if it has not.
        auto answer = s.read_answer(0);
        if (!answer) {
            BOOST_TEST_REQUIRE(s.send_some(healthz) == static_cast<long>(healthz.size()));
            answer = s.read_answer(kWaitBoundMs);
        }
        BOOST_TEST_REQUIRE(answer.has_value(), "connection " << idle.size() << " not answered");
        if (answer->status == 200u) idle.push_back(std::move(s));
        else refused = answer;
    }
    peak.sample(f.server);
    BOOST_TEST_REQUIRE(refused.has_value(), "never refused after " << idle.size() << " connections");
    BOOST_TEST(refused->status == 503u, refused->head);
    BOOST_TEST(has_detail(refused->body), refused->body);
    BOOST_TEST(refused->head.find("Retry-After: ") != std::string::npos, refused->head);
    BOOST_TEST(idle.size() == kLimit - 2u, "admitted " << idle.size() << " idle connections");

    // A newcomer from the well-behaved client's address is refused too: the limit is global.
    RawConnection newcomer(f.server.port());
    BOOST_TEST(newcomer.read_status() == 503u);
    // The well-behaved client's kept connections are still served (its fresh connection is not).
    client.warm_up();
    // The silent connections are still open: the 503 came from the limit, not a timeout.
    for (int i = 0; i < kLimit / 2; ++i) BOOST_TEST_REQUIRE(!idle[i].hung_up_by_server());

    idle.clear();
    bool served = false;
    BOOST_TEST(eventually([&] {
        RawConnection next(f.server.port());
        served = next.try_send(raw_request("GET", "/healthz")) && next.read_status() == 200u;
        return served;
    }));
    client.start();
    BOOST_TEST(eventually([&] { return client.rounds() >= 3; }));
    client.check(3);
    check_back_to_baseline(f.server, before, std::nullopt, peak);
}

// One connection pipelines 100,000 requests (each with a 1 KiB header, ~100 MB in all) as fast
// as the socket takes them, while another thread reads the answers: every one comes back, in
// order (each echoes its request's X-Request-Id), and the server reads no further ahead than
// the request it is on, so the flood does not pile up in its memory.
BOOST_AUTO_TEST_CASE(a_pipelined_flood_is_answered_in_order_in_bounded_memory) {
    constexpr int kRequests = 100'000;
    ServerFixture f({"--access-log=false"}, allocator_env());
    WellBehavedClient client(f);
    client.warm_up();
    const Usage before = usage_of(f.server);
    Peak peak;

    const std::string pad = "X-Pad: " + std::string(1000, 'p') + "\r\n";
    RawConnection flood(f.server.port());
    // Sends on the descriptor itself: the reading thread uses the RawConnection meanwhile.
    std::thread sender([&, fd = flood.socket().native_handle()] {
        std::string batch;
        for (int i = 0; i < kRequests; ++i) {
            batch += raw_request("GET", "/healthz", {}, {}, pad + "X-Request-Id: flood-" + std::to_string(i) + "\r\n");
            if (batch.size() < (1 << 20) && i + 1 < kRequests) continue;
            for (std::size_t done = 0; done < batch.size();) {
                const ssize_t n = ::send(fd, batch.data() + done, batch.size() - done, MSG_NOSIGNAL);
                if (n <= 0) return;  // the server closed: the reader reports what is missing
                done += static_cast<std::size_t>(n);
            }
            batch.clear();
        }
    });
    client.start();
    int answered = 0;
    for (; answered < kRequests; ++answered) {
        auto r = flood.try_read();
        if (!r || r->result_int() != 200u || (*r)["X-Request-Id"] != "flood-" + std::to_string(answered)) break;
        if (answered % 5000 == 0) peak.sample(f.server);
    }
    sender.join();
    BOOST_TEST(answered == kRequests, "answered in order: " << answered << " of " << kRequests);
    peak.sample(f.server);
    BOOST_TEST(peak.most.resident <= before.resident + kResidentSlackBytes,
               "resident " << mib(peak.most.resident) << " during the flood, " << mib(before.resident) << " before");
    client.check();
    flood.socket().close();
    check_back_to_baseline(f.server, before, std::nullopt, peak);
}

// With only a global limit, one address that opens --max-connections connections leaves none
// for anyone else: a newcomer from another address is refused. With --max-connections-per-ip,
// that address gets 429 past its share and the other address is still served.
BOOST_AUTO_TEST_CASE(one_address_cannot_take_every_connection) {
    constexpr int kLimit = 200;
    constexpr int kPerAddress = 50;
    // Opens connections from the abuser's address, each answered once and then idle, until one
    // is refused; that refusal (nullopt: none within `most`).
    auto fill = [](const ServerFixture& f, std::vector<ClientSocket>& held, int most) {
        const std::string healthz = raw_request("GET", "/healthz");
        while (held.size() < static_cast<std::size_t>(most)) {
            ClientSocket s(f.server.port(), kAbuser);
            auto answer = s.read_answer(0);
            if (!answer) {
                if (s.send_some(healthz) != static_cast<long>(healthz.size())) return answer;
                answer = s.read_answer(kWaitBoundMs);
            }
            if (!answer || answer->status != 200u) return answer;
            held.push_back(std::move(s));
        }
        return std::optional<ClientSocket::Answer>{};
    };

    {  // a global limit only: starved
        ServerFixture f({"--max-connections", std::to_string(kLimit), "--max-connections-per-ip", "0"}, allocator_env());
            std::vector<ClientSocket> held;
        const auto refused = fill(f, held, kLimit + 1);
        BOOST_TEST_REQUIRE(refused.has_value());
        BOOST_TEST(refused->status == 503u);
        BOOST_TEST(held.size() == static_cast<std::size_t>(kLimit));
        RawConnection other(f.server.port());  // 127.0.0.1
        BOOST_TEST(other.read_status() == 503u, "another address is starved by a global limit alone");
    }

    ServerFixture f({"--max-connections", std::to_string(kLimit), "--max-connections-per-ip", std::to_string(kPerAddress)},
                    allocator_env());
    WellBehavedClient client(f);
    client.warm_up();
    const Usage before = usage_of(f.server);
    Peak peak;
    std::vector<ClientSocket> held;
    const auto refused = fill(f, held, kLimit + 1);
    peak.sample(f.server);
    BOOST_TEST_REQUIRE(refused.has_value(), "one address opened " << held.size() << " connections");
    BOOST_TEST(held.size() == static_cast<std::size_t>(kPerAddress));
    BOOST_TEST(refused->status == 429u, refused->head);
    BOOST_TEST(has_detail(refused->body), refused->body);
    BOOST_TEST(refused->head.find("Retry-After: ") != std::string::npos, refused->head);
    // The other address: its kept connections and fresh ones are served while the abuser holds
    // its share, and the abuser's admitted connections are still served too.
    client.start();
    BOOST_TEST(eventually([&] { return client.rounds() >= 3; }));
    client.check(3);
    ClientSocket& one = held.front();
    BOOST_TEST_REQUIRE(one.send_some(raw_request("GET", "/healthz")) > 0);
    const auto still = one.read_answer(kWaitBoundMs);
    BOOST_TEST((still && still->status == 200u));

    // Once its connections close, the address gets in again.
    held.clear();
    BOOST_TEST(eventually([&] {
        std::vector<ClientSocket> again;
        const auto r = fill(f, again, kPerAddress);
        return !r.has_value() && again.size() == static_cast<std::size_t>(kPerAddress);
    }));
    check_back_to_baseline(f.server, before, std::nullopt, peak);
}

BOOST_AUTO_TEST_SUITE_END()
