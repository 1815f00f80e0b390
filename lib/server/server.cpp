#include "server/server.hpp"

#include "api/context.hpp"
#include "api/routes.hpp"
#include "auth/admin_token.hpp"
#include "auth/token.hpp"
#include "backend/memory_backend.hpp"
#include "http/listener.hpp"
#include "http/tls_context.hpp"
#include "model/time.hpp"
#include "journal/recovery.hpp"
#include "journal/storage.hpp"
#include "journal/writer.hpp"
#include "server/delay_timer.hpp"
#include "server/maintenance.hpp"
#include "server/postgres_node.hpp"
#include "server/server_metrics.hpp"
#include "store/store.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <charconv>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace taskd::server {
namespace net = boost::asio;
using net::ip::tcp;

namespace {

// When the snapshot file `name` in `dir` was written (its mtime), in microseconds since the
// epoch; 0 for none or when it cannot be read.
std::int64_t snapshot_written_unix_micros(const std::filesystem::path& dir, const std::string& name) {
    if (name.empty()) return 0;
    struct stat st {};
    if (::stat((dir / name).c_str(), &st) != 0) return 0;
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
}

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
    util::set_log_format(config.log_format);

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

    // A certificate that cannot be used stops the start, before anything else is touched.
    std::unique_ptr<http::TlsContext> tls;
    if (!config.tls_cert_file.empty()) {
        http::TlsFiles files{config.tls_cert_file, config.tls_key_file};
        auto loaded = http::load_tls_context(files);
        if (!loaded.context) {
            util::log_error(loaded.error);
            return 2;
        }
        util::log_info("TLS certificate: " + loaded.certificate);
        tls = std::make_unique<http::TlsContext>(std::move(files), std::move(loaded.context));
    }

    std::error_code fs_ec;
    std::filesystem::create_directories(config.data_dir, fs_ec);
    if (fs_ec) {
        util::log_error("cannot create data directory " + config.data_dir.string() + ": " + fs_ec.message());
        return 1;
    }
    // With PostgreSQL the data directory holds only the admin token, which nodes may share.
    const bool on_postgres = !config.database_url.empty();
    std::optional<util::DirectoryLock> dir_lock;
    if (!on_postgres) {
        auto locked = util::DirectoryLock::acquire(config.data_dir);
        if (!locked) {
            util::log_error("cannot lock " + (config.data_dir / "LOCK").string() + ": " + locked.error().message() +
                            " (is another taskd using this data directory?)");
            return 1;
        }
        dir_lock.emplace(std::move(*locked));
    }
    auto admin = auth::load_admin_token(config.admin_token_file, config.admin_token_env, config.data_dir);
    if (!admin) {
        util::log_error(admin.error().message);
        return 2;
    }
    raise_descriptor_limit(config.http.max_connections);
    if (config.api.max_waiters >= config.http.max_connections)
        util::log_warn("--max-waiters " + std::to_string(config.api.max_waiters) + " is not below --max-connections " +
                       std::to_string(config.http.max_connections) +
                       ": waiting long polls could take every connection");
    std::signal(SIGPIPE, SIG_IGN);

    model::SystemClock system_clock;
    model::ManualClock frozen_clock(system_clock.now());
    const model::Clock& clock = config.debug_frozen_clock ? static_cast<const model::Clock&>(frozen_clock) : system_clock;
    if (config.debug_frozen_clock) util::log_warn("--debug-frozen-clock: the clock stands still (for tests only)");
    if (config.journal.debug_skip_write)
        util::log_warn("--debug-skip-journal-write: changes are answered but not journaled; a restart loses them "
                       "(for tests only)");

    net::io_context ioc(static_cast<int>(config.threads));
    // The store: PostgreSQL (--database-url), or memory with the journal in the data directory.
    std::unique_ptr<PostgresNode> postgres;
    std::unique_ptr<journal::Storage> storage;
    std::unique_ptr<journal::Writer> writer;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<backend::MemoryBackend> memory;
    if (on_postgres) {
        postgres = std::make_unique<PostgresNode>(ioc, config, clock);
    } else {
        storage = journal::make_posix_storage(config.data_dir);
        writer = std::make_unique<journal::Writer>(*storage, config.journal);
        store = std::make_unique<store::Store>(clock, *writer);
        memory = std::make_unique<backend::MemoryBackend>(*store, *writer);
    }
    api::ApiContext ctx{postgres ? postgres->backend() : static_cast<backend::Backend&>(*memory),
                        auth::hash_token(admin->token), config.api};
    ctx.config.admin_auth = !config.insecure_no_admin_auth;
    ctx.clock = &clock;
    std::unique_ptr<DelayTimer> delay_timer;
    if (store) {
        store->set_on_pending([&ctx](const model::Uuid& tenant) { ctx.waiters.notify(tenant); });
        store->set_limits(config.store);
        store->set_shared_claim_order(config.shared_claim_order);
        delay_timer = std::make_unique<DelayTimer>(ioc.get_executor(), *store, clock);
        store->set_on_delayed([&delay_timer](model::Timestamp at) { delay_timer->arm(at); });
    }
    const http::Router router = api::make_router(ctx);

    http::AccessLog access_log(config.access_log);
    http::RequestMetrics request_metrics(router.routes());
    http::Listener listener(ioc, config.threads, router, config.http, {access_log, request_metrics}, tls.get());
    ServerMetrics server_metrics(request_metrics, listener, writer.get());
    ctx.write_server_metrics = [&server_metrics, &postgres](std::string& out) {
        server_metrics.write(out);
        if (postgres) postgres->write_metrics(out);
    };
    const auto bound = listener.listen(*endpoint);
    if (!bound) {
        util::log_error("cannot listen on " + config.listen + ": " + bound.error().message());
        return 1;
    }
    listener.start();

    // Shutdown runs on one strand: the signal, the deadline and the "drained" notice.
    auto control = net::make_strand(ioc);
    net::signal_set signals(control, SIGINT, SIGTERM);
    net::steady_timer deadline(control);
    // SIGHUP (with TLS): read the certificate and key again. New connections get the new ones;
    // open connections keep theirs. The files are small: read on the control strand.
    net::signal_set reload_signals(control);
    std::function<void()> await_reload = [&] {
        reload_signals.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            const auto loaded = tls->reload();
            if (loaded.context)
                util::log_info("SIGHUP: TLS certificate reloaded for new connections: " + loaded.certificate);
            else
                util::log_error("SIGHUP: TLS certificate not reloaded, new connections still get the previous one: " +
                                loaded.error);
            await_reload();
        });
    };
    if (tls) {
        reload_signals.add(SIGHUP);
        await_reload();
    }
    auto shut_down = [&] {
        boost::system::error_code ignored;
        reload_signals.cancel(ignored);  // its wait would keep the io_context running
        ctx.waiters.stop();  // long polls answer null now
        deadline.expires_after(config.shutdown_timeout);
        deadline.async_wait([&](const boost::system::error_code& wait_ec) {
            if (wait_ec) return;  // cancelled: every connection finished in time
            util::log_warn("shutdown timeout: closing " + std::to_string(listener.connection_count()) +
                           " connections still open");
            ioc.stop();
        });
        listener.shutdown([&] {
            net::post(control, [&] {
                deadline.cancel();
                if (postgres) postgres->stop();  // its connections and timers would keep the io_context running
                if (delay_timer) delay_timer->stop();  // its wait would too
            });
        });
    };
    signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;
        util::log_info("signal " + std::to_string(signal_number) + ": stopping; " +
                       std::to_string(listener.connection_count()) + " connections open");
        shut_down();
    });

    // Serve /healthz (and a 503 /readyz) while the state is read back from disk.
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < config.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    auto join_all = [&] {
        for (auto& t : threads) t.join();
    };
    util::log_info(std::string("taskd ") + TASKD_VERSION + " listening on " + (tls ? "https://" : "http://") +
                   format_endpoint(*bound) + " with " + std::to_string(config.threads) + " threads; " +
                   (on_postgres ? std::string("connecting to the database") : "recovering " + config.data_dir.string()));
    if (!tls && !endpoint->address().is_loopback())
        util::log_warn("serving plain HTTP on " + format_endpoint(*bound) +
                       ", which is not a loopback address: tokens and tasks cross the network unencrypted; "
                       "use --tls-cert and --tls-key, or a TLS proxy in front");
    util::log_info("admin token: " + admin->origin);
    if (config.insecure_no_admin_auth)
        util::log_warn("--insecure-no-admin-auth: admin endpoints are open to anyone who can reach " + config.listen);

    if (postgres) {
        int exit_code = 0;
        postgres->start(
            ctx.waiters,
            [&ctx] {
                ctx.ready.store(true, std::memory_order_release);
                util::log_info("ready: the database's schema is current");
            },
            [&](std::string why) {
                util::log_error("database: " + why);
                exit_code = 1;
                net::post(control, [&] { signals.cancel(); shut_down(); });
            });
        join_all();
        postgres->stop();
        util::log_info("stopped");
        return exit_code;
    }

    const auto recovery_start = std::chrono::steady_clock::now();
    auto report = [&] {
        store::Store::Replay replay(*store);
        return journal::recover(
            *storage, config.recover, false, [&](journal::Change&& c) { replay.apply(std::move(c)); },
            [&](std::uint64_t tasks) { replay.reserve(tasks); });
    }();
    if (!report) {
        util::log_error("recovery failed: " + report.error().message);
        net::post(control, [&] { signals.cancel(); shut_down(); });
        join_all();
        return 1;
    }
    for (const auto& cut : report->cuts) util::log_warn("recovery: " + cut);
    for (const auto& failure : report->trim_failures) util::log_warn("recovery: " + failure);
    if (report->segments_trimmed > 0)
        util::log_info("recovery: gave back the unused reservation of " + std::to_string(report->segments_trimmed) +
                       " older segments (" + std::to_string(report->bytes_trimmed) + " bytes)");
    std::optional<journal::SegmentInfo> newest;
    if (!report->segments.empty()) newest = report->segments.back();
    if (auto opened = writer->open(report->last_sequence + 1, newest, report->snapshot_sequence); !opened) {
        util::log_error("cannot open the journal in " + config.data_dir.string() + ": " + opened.error().message());
        net::post(control, [&] { signals.cancel(); shut_down(); });
        join_all();
        return 1;
    }
    Maintenance maintenance(*store, *writer, *storage, clock, config.maintenance,
                            {report->snapshot_sequence, report->bytes_replayed});
    maintenance.start();
    if (const auto due = store->next_due()) delay_timer->arm(*due);  // delayed tasks recovered
    const double recovery_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - recovery_start).count();
    server_metrics.recovered(recovery_ms / 1000, snapshot_written_unix_micros(config.data_dir, report->snapshot_file),
                             maintenance);
    ctx.ready.store(true, std::memory_order_release);
    const auto counts = store->task_count_by_status();
    util::log_info("ready: " + std::to_string(store->task_count()) + " tasks (" + std::to_string(counts[0]) +
                   " pending, " + std::to_string(counts[1]) + " running), " +
                   std::to_string(store->list_agents().size()) + " agents; snapshot " +
                   (report->snapshot_file.empty() ? std::string("none") : report->snapshot_file) + " + " +
                   std::to_string(report->records_replayed) + " journal records in " +
                   std::to_string(static_cast<long long>(recovery_ms)) + " ms; fsync " +
                   (config.journal.fsync == journal::FsyncMode::always     ? "always"
                    : config.journal.fsync == journal::FsyncMode::interval ? "interval"
                                                                           : "never"));

    join_all();
    maintenance.stop();
    store->log_last_seen();  // written by close(): a clean restart shows exactly this state
    writer->close();
    util::log_info("stopped");
    return 0;
}

}  // namespace taskd::server
