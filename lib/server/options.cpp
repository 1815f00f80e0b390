#include "server/options.hpp"

#include "util/duration.hpp"
#include "util/program_options.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <cstdlib>
#include <cstdint>
#include <sstream>
#include <thread>

namespace taskd::server {
namespace po = boost::program_options;
using namespace std::chrono_literals;

// A time span on the command line: "500ms", "10s", "5m", "2h", "7d"; a bare number is seconds.
struct Duration {
    std::chrono::milliseconds value{};
};

// Program_options finds this by argument-dependent lookup to read a Duration.
void validate(boost::any& out, const std::vector<std::string>& values, Duration*, int) {
    po::validators::check_first_occurrence(out);
    const std::string& text = po::validators::get_single_string(values);
    auto d = util::parse_duration(text);
    if (!d) throw po::invalid_option_value(text + " (expected a duration such as 500ms, 10s, 5m, 2h, 7d)");
    out = Duration{*d};
}

namespace {

std::string format_duration(std::chrono::milliseconds d) {
    if (d.count() % 86'400'000 == 0 && d.count() > 0) return std::to_string(d.count() / 86'400'000) + "d";
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
    return std::to_string(d.count()) + "ms";
}

po::typed_value<Duration>* duration_value(std::chrono::milliseconds fallback) {
    return po::value<Duration>()->default_value(Duration{fallback}, format_duration(fallback));
}

po::options_description describe(const Config& d) {
    po::options_description general("General");
    general.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("config", po::value<std::string>()->value_name("FILE"),
         "read options from FILE, one \"name = value\" per line (flags and TASKD_* win over it)");

    po::options_description server("Server");
    server.add_options()
        ("listen", po::value<std::string>()->default_value(d.listen)->value_name("HOST:PORT"),
         "address to serve HTTP on: 127.0.0.1:8000, [::1]:8000, 0.0.0.0:8000; port 0 picks a free one")
        ("data-dir", po::value<std::string>()->default_value(d.data_dir.string())->value_name("DIR"),
         "directory for the server's files (admin.token); created if missing")
        ("admin-token-file", po::value<std::string>()->value_name("FILE"),
         "read the admin token from FILE; else TASKD_ADMIN_TOKEN; else <data-dir>/admin.token, "
         "generated on first start")
        ("insecure-no-admin-auth", po::bool_switch(),
         "serve the admin endpoints without a token (the original's behaviour); refused unless --listen "
         "is a loopback address")
        ("threads", po::value<std::int64_t>()->default_value(0)->value_name("N"),
         "threads serving requests; 0 means one per core")
        ("shutdown-timeout", duration_value(d.shutdown_timeout)->value_name("DURATION"),
         "on SIGTERM/SIGINT, how long in-flight requests may take to finish")
        ("ui", po::value<bool>()->default_value(d.api.ui)->value_name("BOOL"),
         "serve the operator's console at /ui (it signs in with the admin token); --ui=false turns it off")
        ("tls-cert", po::value<std::string>()->value_name("FILE"),
         "serve HTTPS with this PEM certificate (then any intermediates); needs --tls-key; "
         "SIGHUP reads both files again")
        ("tls-key", po::value<std::string>()->value_name("FILE"), "the PEM private key of --tls-cert");

    po::options_description limits("Limits");
    limits.add_options()
        ("max-body-bytes", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.http.max_body_bytes))
             ->value_name("BYTES"), "largest request body; larger is answered 413")
        ("max-header-bytes", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.http.max_header_bytes))
             ->value_name("BYTES"), "largest request header; larger is answered 431")
        ("max-json-depth", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.api.max_json_depth))
             ->value_name("N"), "deepest nesting of a JSON body; deeper is answered 422")
        ("max-connections", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.http.max_connections))
             ->value_name("N"), "open connections at once; more are answered 503 and closed")
        ("max-connections-per-ip", po::value<std::int64_t>()
             ->default_value(static_cast<std::int64_t>(d.http.max_connections_per_ip))->value_name("N"),
         "open connections from one client address; more are answered 429 and closed (0: no limit; "
         "behind a reverse proxy every client has the proxy's address)")
        ("max-waiters", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.api.max_waiters))
             ->value_name("N"), "long polls (GET /tasks/next?wait=) waiting at once; more are answered 503")
        ("max-tasks", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.store.max_tasks))
             ->value_name("N"), "tasks held at once, finished ones included; a create past it is answered 503 "
                                "(0: no limit)")
        ("max-pending-per-tenant", po::value<std::int64_t>()
             ->default_value(static_cast<std::int64_t>(d.store.max_pending_per_tenant))->value_name("N"),
         "pending tasks of one tenant; a create past it is answered 429 (0: no limit)")
        ("header-timeout", duration_value(d.http.header_timeout)->value_name("DURATION"),
         "time to receive a request's header once it has begun")
        ("body-timeout", duration_value(d.http.body_timeout)->value_name("DURATION"),
         "time to receive a request's body once its header is in")
        ("idle-timeout", duration_value(d.http.idle_timeout)->value_name("DURATION"),
         "how long a keep-alive connection may wait for its next request")
        ("write-timeout", duration_value(d.http.write_timeout)->value_name("DURATION"),
         "time to send one response to the client");

    po::options_description durability("Durability");
    durability.add_options()
        ("fsync", po::value<std::string>()->default_value("always")->value_name("MODE"),
         "always: answer a change once it is synced to disk (group commit); interval: once written, "
         "synced every --fsync-interval; never: once written (survives kill -9, not power loss)")
        ("fsync-interval", duration_value(d.journal.fsync_interval)->value_name("DURATION"),
         "with --fsync=interval, how often the journal is synced")
        ("segment-bytes", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.journal.segment_bytes))
             ->value_name("BYTES"), "start a new journal segment past this size")
        ("snapshot-every-records", po::value<std::int64_t>()
             ->default_value(static_cast<std::int64_t>(d.maintenance.snapshot_every_records))->value_name("N"),
         "write a snapshot after this many journal records")
        ("snapshot-every-bytes", po::value<std::int64_t>()
             ->default_value(static_cast<std::int64_t>(d.maintenance.snapshot_every_bytes))->value_name("BYTES"),
         "write a snapshot after this many journal bytes")
        ("snapshot-every-segments", po::value<std::int64_t>()
             ->default_value(static_cast<std::int64_t>(d.maintenance.snapshot_every_segments))->value_name("N"),
         "write a snapshot when the data directory holds this many journal segments (at least 3)")
        ("retain", duration_value(d.maintenance.retain)->value_name("DURATION"),
         "keep completed and failed tasks this long after their last change, then drop them")
        ("maintenance-interval", duration_value(d.maintenance.interval)->value_name("DURATION"),
         "how often to release expired leases and check whether a snapshot or a retention pass is due")
        ("recover", po::value<std::string>()->default_value("strict")->value_name("MODE"),
         "strict: refuse to start on journal damage other than a torn tail; truncate-corrupt: cut the "
         "journal at the first damage and drop what follows")
        ("check-data", po::value<std::string>()->value_name("DIR"),
         "verify the snapshot and journal in DIR, print what they hold and any damage, and exit");

    po::options_description database("PostgreSQL (instead of the embedded store)");
    database.add_options()
        ("database-url", po::value<std::string>()->value_name("URL"),
         "keep tasks and agents in PostgreSQL, e.g. postgresql://taskd@10.0.0.5:5432/taskd; any number of "
         "taskd nodes may share one database (give them the same admin token). Without it: memory and the "
         "journal in --data-dir (the default)")
        ("database-pool", po::value<std::int64_t>()->default_value(static_cast<std::int64_t>(d.database_pool))
             ->value_name("N"), "connections to the database this node opens at most (1-1000)");

    po::options_description tasks("Tasks");
    tasks.add_options()
        ("lease-seconds", po::value<std::int64_t>()->default_value(d.api.default_lease_seconds)->value_name("N"),
         "a claim's lease when the task does not set lease_seconds (1-86400)")
        ("shared-claim-order", po::value<std::string>()->default_value("oldest")->value_name("ORDER"),
         "which task a shared agent (no tenant) claims: oldest: the first by priority then age, across "
         "tenants; fair: round robin over the tenants with claimable tasks, then priority, then age");

    po::options_description logging("Logging");
    logging.add_options()
        ("log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"),
         "debug, info, warn or error")
        ("log-format", po::value<std::string>()->default_value("text")->value_name("FORMAT"),
         "text: one line per event; json: one JSON object per line")
        ("metrics-auth", po::value<bool>()->default_value(d.api.metrics_auth)->value_name("BOOL"),
         "GET /metrics needs the admin token (default: open, as Prometheus scrapers expect)")
        ("access-log", po::value<bool>()->default_value(d.access_log)->value_name("BOOL"),
         "one line per request (method, route, status, duration, bytes, who, request id); "
         "--access-log=false turns it off");

    po::options_description testing("Testing");
    testing.add_options()
        ("debug-frozen-clock", po::bool_switch(),
         "for tests only: the server's clock stands still at its start time")
        ("debug-skip-journal-write", po::bool_switch(),
         "for tests only: changes are answered but never written to the journal, so a restart loses "
         "them (proves the crash test can fail)");

    po::options_description all;
    all.add(general).add(server).add(limits).add(durability).add(database).add(tasks).add(logging).add(testing);
    return all;
}

// One flag's value, checked against its range; throws po::error with a clear message.
std::int64_t in_range(const po::variables_map& vm, const char* name, std::int64_t lo, std::int64_t hi) {
    const auto v = vm[name].as<std::int64_t>();
    if (v < lo || v > hi)
        throw po::error("the argument ('" + std::to_string(v) + "') for option '--" + name + "' is out of range " +
                        std::to_string(lo) + "-" + std::to_string(hi));
    return v;
}

std::chrono::milliseconds positive_duration(const po::variables_map& vm, const char* name) {
    const auto v = vm[name].as<Duration>().value;
    if (v.count() <= 0) throw po::error("the argument for option '--" + std::string(name) + "' must be positive");
    return v;
}

util::LogFormat log_format(const std::string& name) {
    if (name == "text") return util::LogFormat::text;
    if (name == "json") return util::LogFormat::json;
    throw po::error("the argument ('" + name + "') for option '--log-format' is invalid: use text or json");
}

model::SharedClaimOrder shared_claim_order(const std::string& name) {
    if (name == "oldest") return model::SharedClaimOrder::oldest;
    if (name == "fair") return model::SharedClaimOrder::fair;
    throw po::error("the argument ('" + name + "') for option '--shared-claim-order' is invalid: use oldest or fair");
}

journal::FsyncMode fsync_mode(const std::string& name) {
    if (name == "always") return journal::FsyncMode::always;
    if (name == "interval") return journal::FsyncMode::interval;
    if (name == "never") return journal::FsyncMode::never;
    throw po::error("the argument ('" + name + "') for option '--fsync' is invalid: use always, interval or never");
}

journal::RecoverMode recover_mode(const std::string& name) {
    if (name == "strict") return journal::RecoverMode::strict;
    if (name == "truncate-corrupt") return journal::RecoverMode::truncate_corrupt;
    throw po::error("the argument ('" + name + "') for option '--recover' is invalid: use strict or truncate-corrupt");
}

util::LogLevel log_level(const std::string& name) {
    if (name == "debug") return util::LogLevel::debug;
    if (name == "info") return util::LogLevel::info;
    if (name == "warn") return util::LogLevel::warn;
    if (name == "error") return util::LogLevel::error;
    throw po::error("the argument ('" + name + "') for option '--log-level' is invalid: use debug, info, warn or error");
}

Config to_config(const po::variables_map& vm) {
    Config c;
    c.listen = vm["listen"].as<std::string>();
    c.data_dir = vm["data-dir"].as<std::string>();
    if (vm.count("admin-token-file")) c.admin_token_file = vm["admin-token-file"].as<std::string>();
    if (vm.count("tls-cert")) c.tls_cert_file = vm["tls-cert"].as<std::string>();
    if (vm.count("tls-key")) c.tls_key_file = vm["tls-key"].as<std::string>();
    if (c.tls_cert_file.empty() != c.tls_key_file.empty())
        throw po::error("--tls-cert and --tls-key go together: give both for HTTPS, or neither for plain HTTP");
    c.insecure_no_admin_auth = vm["insecure-no-admin-auth"].as<bool>();
    c.threads = static_cast<unsigned>(in_range(vm, "threads", 0, 1024));
    if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
    c.shutdown_timeout = positive_duration(vm, "shutdown-timeout");
    c.http.max_body_bytes = static_cast<std::size_t>(in_range(vm, "max-body-bytes", 1, 1ll << 30));
    c.http.max_header_bytes = static_cast<std::size_t>(in_range(vm, "max-header-bytes", 1024, 1 << 20));
    c.api.max_json_depth = static_cast<std::size_t>(in_range(vm, "max-json-depth", 1, 1000));
    c.http.max_connections = static_cast<std::size_t>(in_range(vm, "max-connections", 1, 1'000'000));
    c.http.max_connections_per_ip = static_cast<std::size_t>(in_range(vm, "max-connections-per-ip", 0, 1'000'000));
    c.api.max_waiters = static_cast<std::size_t>(in_range(vm, "max-waiters", 0, 1'000'000));
    c.store.max_tasks = static_cast<std::size_t>(in_range(vm, "max-tasks", 0, 1ll << 40));
    c.store.max_pending_per_tenant = static_cast<std::size_t>(in_range(vm, "max-pending-per-tenant", 0, 1ll << 40));
    c.http.header_timeout = positive_duration(vm, "header-timeout");
    c.http.body_timeout = positive_duration(vm, "body-timeout");
    c.http.idle_timeout = positive_duration(vm, "idle-timeout");
    c.http.write_timeout = positive_duration(vm, "write-timeout");
    c.api.default_lease_seconds = static_cast<std::uint32_t>(in_range(vm, "lease-seconds", 1, model::kMaxLeaseSeconds));
    c.shared_claim_order = shared_claim_order(vm["shared-claim-order"].as<std::string>());
    c.log_level = log_level(vm["log-level"].as<std::string>());
    c.log_format = log_format(vm["log-format"].as<std::string>());
    c.access_log = vm["access-log"].as<bool>();
    c.api.metrics_auth = vm["metrics-auth"].as<bool>();
    c.api.ui = vm["ui"].as<bool>();
    c.debug_frozen_clock = vm["debug-frozen-clock"].as<bool>();
    c.journal.debug_skip_write = vm["debug-skip-journal-write"].as<bool>();
    c.journal.fsync = fsync_mode(vm["fsync"].as<std::string>());
    c.journal.fsync_interval = positive_duration(vm, "fsync-interval");
    c.journal.segment_bytes = static_cast<std::uint64_t>(in_range(vm, "segment-bytes", 4096, 1ll << 40));
    c.maintenance.snapshot_every_records =
        static_cast<std::uint64_t>(in_range(vm, "snapshot-every-records", 1, 1ll << 40));
    c.maintenance.snapshot_every_bytes = static_cast<std::uint64_t>(in_range(vm, "snapshot-every-bytes", 1, 1ll << 50));
    // At least 3: right after a snapshot the segment holding its last record stays until the
    // next one, and the first record after it starts another; 2 would snapshot at every record.
    c.maintenance.snapshot_every_segments =
        static_cast<std::uint64_t>(in_range(vm, "snapshot-every-segments", 3, 1'000'000));
    c.maintenance.retain = positive_duration(vm, "retain");
    c.maintenance.interval = positive_duration(vm, "maintenance-interval");
    c.recover = recover_mode(vm["recover"].as<std::string>());
    if (vm.count("check-data")) c.check_data_dir = vm["check-data"].as<std::string>();
    if (vm.count("database-url")) c.database_url = vm["database-url"].as<std::string>();
    c.database_pool = static_cast<std::size_t>(in_range(vm, "database-pool", 1, 1000));
    return c;
}

}  // namespace

ParsedOptions parse_options(int argc, const char* const argv[]) {
    ParsedOptions out;
    const po::options_description desc = describe(Config{});
    try {
        po::variables_map vm;
        // The first value stored for an option wins: command line, then environment, then file.
        // No positional arguments: a stray word ("taskd 8080") is an error, not ignored.
        po::store(po::command_line_parser(argc, argv).options(desc).positional({}).run(), vm);
        if (vm.count("help")) {
            std::ostringstream text;
            text << "Usage: taskd [options]\n\n"
                    "A task queue for fleets of agents: serves the HTTP API of API.md.\n"
                    "Every option can also be set as TASKD_<OPTION> (TASKD_MAX_BODY_BYTES=...) or\n"
                    "in --config FILE; the admin token itself can come from TASKD_ADMIN_TOKEN.\n"
                 << desc << "\n";
            out.output = text.str();
            return out;
        }
        if (vm.count("version")) {
            out.output = std::string("taskd ") + TASKD_VERSION + "\n";
            return out;
        }
        util::store_environment_and_config(desc, "TASKD_", vm);
        out.config = to_config(vm);
        if (const char* token = std::getenv("TASKD_ADMIN_TOKEN")) out.config.admin_token_env = token;
        out.run = true;
    } catch (const std::exception& e) {
        out.exit_code = 2;
        out.output = std::string("taskd: ") + e.what() + " (see taskd --help)\n";
    }
    return out;
}

}  // namespace taskd::server
