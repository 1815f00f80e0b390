#include "bench/options.hpp"

#include "util/duration.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace taskd::bench {
namespace po = boost::program_options;

namespace {

// Without --duration or --requests a run lasts this long.
constexpr auto kDefaultDuration = std::chrono::seconds{10};

std::string read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("--admin-token-file " + path + ": cannot read it");
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    return token;
}

}  // namespace

std::optional<int> parse_options(int argc, const char* const argv[], Options& out) {
    std::string duration_text, timeout_text = "30s", protocol = "http", admin_token, admin_token_file;
    std::vector<std::string> ratio_texts;
    std::uint64_t requests = 0, prefill = 0;
    unsigned port = 8000;
    bool tls = false;

    po::options_description run("Load run");
    run.add_options()
        ("scenario", po::value(&out.scenario), "create, get, list, claim, lifecycle, longpoll, static")
        ("host", po::value(&out.scenario_options.target.host)->default_value("127.0.0.1"), "server address (IP)")
        ("port", po::value(&port)->default_value(8000), "server port")
        ("protocol", po::value(&protocol)->default_value("http"), "http, or beanstalk (lifecycle only)")
        ("tls", po::bool_switch(&tls), "HTTPS (TLS 1.2 or later; the server's certificate is not verified)")
        ("admin-token", po::value(&admin_token), "admin bearer token (else TASKD_ADMIN_TOKEN)")
        ("admin-token-file", po::value(&admin_token_file), "read the admin token from FILE (taskd's data/admin.token)")
        ("connections,c", po::value(&out.plan.connections)->default_value(64), "connections (agents for longpoll)")
        ("threads,t", po::value(&out.plan.threads)->default_value(1), "load threads, each with its own io_context")
        ("duration,d", po::value(&duration_text), "how long to load: 10s, 500ms, 2m (default 10s)")
        ("requests,n", po::value(&requests), "stop after this many operations instead (or as well)")
        ("rate,r", po::value(&out.plan.rate)->default_value(0), "operations per second, open loop; 0: closed loop")
        ("timeout", po::value(&timeout_text), "bound on any one request (default 30s)")
        ("limit", po::value(&out.scenario_options.list_limit)->default_value(50), "list: page size (1-1000)")
        ("prefill", po::value(&prefill), "claim: tasks to queue first (default: --requests)")
        ("wait", po::value(&out.scenario_options.wait_seconds)->default_value(5), "longpoll: wait= seconds (0-60)")
        ("producers", po::value(&out.scenario_options.producers)->default_value(1), "longpoll: task producers")
        ("delay-ms", po::value(&out.scenario_options.delay_ms)->default_value(0),
         "longpoll: create each task with a not_before this many ms ahead; latency from not_before to the claim")
        ("path", po::value(&out.scenario_options.path)->default_value("/"), "static: the path to GET")
        ("console-pollers", po::value(&out.console_pollers)->default_value(0),
         "beside the load, N open consoles: GET /stats every 2 s each (not in the figures)")
        ("label", po::value(&out.label), "name of the system under test, for --json and --report")
        ("json", po::bool_switch(&out.json), "print one JSON line on stdout instead of text")
        ("no-progress", "no progress line (it is shown only on a terminal anyway)");
    po::options_description table("Table of earlier runs");
    table.add_options()
        ("report", po::value<std::string>(), "read --json lines from FILE and print them as one table")
        ("ratio", po::value(&ratio_texts), "with --report: NAME=SCEN@SYSTEM/SCEN@SYSTEM[>=TARGET], repeatable");
    po::options_description all("taskd-bench: an HTTP/1.1 load generator for taskd and what it is compared with");
    all.add_options()("help,h", "print this help and exit");
    all.add(run).add(table);

    try {
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
        if (vm.count("help")) {
            std::cout << all << "\n";
            return 0;
        }
        po::notify(vm);
        if (vm.count("report")) {
            out.report_file = vm["report"].as<std::string>();
            for (const auto& r : ratio_texts) out.ratios.push_back(parse_ratio(r));
            return std::nullopt;
        }
        if (out.scenario.empty()) throw std::invalid_argument("--scenario is required (or --report)");
        if (port == 0 || port > 65535) throw std::invalid_argument("--port must be 1-65535");
        out.scenario_options.target.port = static_cast<unsigned short>(port);
        if (protocol == "http") out.scenario_options.protocol = Protocol::http;
        else if (protocol == "beanstalk") out.scenario_options.protocol = Protocol::beanstalk;
        else throw std::invalid_argument("--protocol must be http or beanstalk");
        if (tls) {
            if (out.scenario_options.protocol != Protocol::http) throw std::invalid_argument("--tls is for --protocol http");
            std::string error;
            auto context = client::make_client_tls_context(false, {}, error);
            if (!context) throw std::invalid_argument("--tls: " + error);
            out.scenario_options.target.tls =
                std::make_shared<client::TlsTarget>(client::TlsTarget{std::move(context), out.scenario_options.target.host});
        }
        if (!admin_token_file.empty()) admin_token = read_token_file(admin_token_file);
        else if (admin_token.empty()) {
            if (const char* env = std::getenv("TASKD_ADMIN_TOKEN")) admin_token = env;
        }
        out.scenario_options.target.admin_token = admin_token;
        if (!duration_text.empty()) {
            out.plan.duration = util::parse_duration(duration_text);
            if (!out.plan.duration) throw std::invalid_argument("--duration " + duration_text + ": expected e.g. 10s");
        }
        if (requests > 0) out.plan.operations = requests;
        if (!out.plan.duration && !out.plan.operations) out.plan.duration = kDefaultDuration;
        if (auto t = util::parse_duration(timeout_text); t && t->count() > 0) out.plan.timeout = *t;
        else throw std::invalid_argument("--timeout " + timeout_text + ": expected e.g. 30s");
        if (vm.count("prefill")) out.scenario_options.prefill = prefill;
        if (out.plan.connections == 0) throw std::invalid_argument("--connections must be at least 1");
        if (out.plan.threads == 0) throw std::invalid_argument("--threads must be at least 1");
        if (out.plan.rate < 0) throw std::invalid_argument("--rate cannot be negative");
        if (out.scenario_options.list_limit < 1 || out.scenario_options.list_limit > 1000)
            throw std::invalid_argument("--limit must be 1-1000");
        if (out.scenario_options.wait_seconds > 60) throw std::invalid_argument("--wait must be 0-60");
        if (out.scenario_options.delay_ms > 60'000) throw std::invalid_argument("--delay-ms must be 0-60000");
        out.progress = !vm.count("no-progress");
        if (out.label.empty()) out.label = out.scenario_options.target.host_header();
    } catch (const std::exception& e) {
        std::cerr << "taskd-bench: " << e.what() << "\n";
        return 2;
    }
    return std::nullopt;
}

}  // namespace taskd::bench
