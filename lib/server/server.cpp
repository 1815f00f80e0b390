#include "server/server.hpp"

#include "api/context.hpp"
#include "api/routes.hpp"
#include "auth/admin_token.hpp"
#include "auth/token.hpp"
#include "http/listener.hpp"
#include "model/time.hpp"
#include "store/store.hpp"
#include "util/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <charconv>
#include <csignal>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace taskd::server {
namespace net = boost::asio;
using net::ip::tcp;

namespace {

// "127.0.0.1:8000", "[::1]:8000", "localhost:8000".
std::optional<tcp::endpoint> parse_listen(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) return std::nullopt;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    boost::system::error_code addr_ec;
    const auto address = net::ip::make_address(std::string(host), addr_ec);
    if (addr_ec) return std::nullopt;
    return tcp::endpoint(address, static_cast<unsigned short>(port));
}

std::string format_endpoint(const tcp::endpoint& e) {
    const std::string host = e.address().to_string();
    return (e.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(e.port());
}

// Each connection needs a descriptor: raise the soft limit toward --max-connections.
void raise_descriptor_limit(std::size_t max_connections) {
    const rlim_t wanted = static_cast<rlim_t>(max_connections) + 256;  // + journal, listener, logs
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = std::min(wanted, limit.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < wanted)
        util::log_warn("descriptor limit " + std::to_string(limit.rlim_cur) + " is below --max-connections + 256; " +
                       "connections past it will fail to be accepted (raise it with ulimit -n)");
}

}  // namespace

int run(const Config& config) {
    util::set_log_level(config.log_level);

    const auto endpoint = parse_listen(config.listen);
    if (!endpoint) {
        util::log_error("--listen " + config.listen + ": expected HOST:PORT with an IP address, e.g. 127.0.0.1:8000");
        return 2;
    }
    if (config.insecure_no_admin_auth && !endpoint->address().is_loopback()) {
        util::log_error("--insecure-no-admin-auth is refused: " + config.listen +
                        " is not a loopback address, and anyone who can reach it could act as the admin");
        return 2;
    }

    std::error_code fs_ec;
    std::filesystem::create_directories(config.data_dir, fs_ec);
    if (fs_ec) {
        util::log_error("cannot create data directory " + config.data_dir.string() + ": " + fs_ec.message());
        return 1;
    }
    auto admin = auth::load_admin_token(config.admin_token_file, config.admin_token_env, config.data_dir);
    if (!admin) {
        util::log_error(admin.error().message);
        return 2;
    }
    raise_descriptor_limit(config.http.max_connections);
    std::signal(SIGPIPE, SIG_IGN);

    model::SystemClock system_clock;
    model::ManualClock frozen_clock(system_clock.now());
    const model::Clock& clock = config.debug_frozen_clock ? static_cast<const model::Clock&>(frozen_clock) : system_clock;
    if (config.debug_frozen_clock) util::log_warn("--debug-frozen-clock: the clock stands still (for tests only)");
    store::Store store(clock);
    api::ApiContext ctx{store, auth::hash_token(admin->token), config.api};
    ctx.config.admin_auth = !config.insecure_no_admin_auth;
    const http::Router router = api::make_router(ctx);

    net::io_context ioc(static_cast<int>(config.threads));
    http::Listener listener(ioc, router, config.http);
    const auto bound = listener.listen(*endpoint);
    if (!bound) {
        util::log_error("cannot listen on " + config.listen + ": " + bound.error().message());
        return 1;
    }
    ctx.ready = true;
    listener.start();
    util::log_info(std::string("taskd ") + TASKD_VERSION + " listening on http://" + format_endpoint(*bound) + " with " +
                   std::to_string(config.threads) + " threads");
    util::log_info("admin token: " + admin->origin);
    if (config.insecure_no_admin_auth)
        util::log_warn("--insecure-no-admin-auth: admin endpoints are open to anyone who can reach " + config.listen);
    util::log_warn("tasks and agents live in memory only: a restart loses them (the journal is not built yet)");

    // Shutdown runs on one strand: the signal, the deadline and the "drained" notice.
    auto control = net::make_strand(ioc);
    net::signal_set signals(control, SIGINT, SIGTERM);
    net::steady_timer deadline(control);
    signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;
        util::log_info("signal " + std::to_string(signal_number) + ": stopping; " +
                       std::to_string(listener.connection_count()) + " connections open");
        deadline.expires_after(config.shutdown_timeout);
        deadline.async_wait([&](const boost::system::error_code& wait_ec) {
            if (wait_ec) return;  // cancelled: every connection finished in time
            util::log_warn("shutdown timeout: closing " + std::to_string(listener.connection_count()) +
                           " connections still open");
            ioc.stop();
        });
        listener.shutdown([&] { net::post(control, [&] { deadline.cancel(); }); });
    });

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < config.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();
    util::log_info("stopped");
    return 0;
}

}  // namespace taskd::server
