#include "agent/options.hpp"

#include "model/uuid.hpp"
#include "util/duration.hpp"
#include "util/program_options.hpp"

#include <boost/program_options.hpp>
#include <boost/url/parse.hpp>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

namespace taskd::agent {
namespace po = boost::program_options;

namespace {

std::string format_duration(std::chrono::milliseconds d) {
    if (d.count() % 60'000 == 0 && d.count() > 0) return std::to_string(d.count() / 60'000) + "m";
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
    return std::to_string(d.count()) + "ms";
}

po::typed_value<std::string>* duration_value(std::chrono::milliseconds fallback) {
    return po::value<std::string>()->default_value(format_duration(fallback))->value_name("DURATION");
}

std::chrono::milliseconds duration(const po::variables_map& vm, const char* name, std::chrono::milliseconds lo,
                                   std::chrono::milliseconds hi) {
    const auto& text = vm[name].as<std::string>();
    const auto d = util::parse_duration(text);
    if (!d) throw po::error("the argument ('" + text + "') for option '--" + name +
                            "' is invalid: expected a duration such as 500ms, 10s, 5m");
    if (*d < lo || *d > hi)
        throw po::error("the argument ('" + text + "') for option '--" + name + "' is out of range " +
                        format_duration(lo) + "-" + format_duration(hi));
    return *d;
}

po::options_description describe(const Config& d) {
    po::options_description general("General");
    general.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("config", po::value<std::string>()->value_name("FILE"),
         "read options from FILE, one \"name = value\" per line (flags and TASKD_AGENT_* win over it)");

    po::options_description agent("Agent");
    agent.add_options()
        ("server", po::value<std::string>()->value_name("URL"),
         "taskd's address: http://HOST[:PORT][/PREFIX] or https://... (required)")
        ("tls-ca", po::value<std::string>()->value_name("FILE"),
         "with an https:// server: trust only the CA certificates (PEM) in FILE, instead of the system's")
        ("agent-id", po::value<std::string>()->value_name("UUID"), "this agent's id, from POST /agents (required)")
        ("token-file", po::value<std::string>()->value_name("FILE"),
         "file holding this agent's token, from POST /agents (required)")
        ("allow-root", po::value<std::vector<std::string>>()->composing()->value_name("DIR"),
         "a directory the tasks may write in (and below); repeat for more. Required: without one "
         "the agent refuses to start")
        ("concurrency", po::value<std::int64_t>()->default_value(d.concurrency)->value_name("N"),
         "tasks run at once (1-256)")
        ("compose-command", po::value<std::string>()->default_value("docker compose")->value_name("COMMAND"),
         "what DOCKER_RELOAD runs, split on spaces, followed by \"up -d --remove-orphans\" "
         "(podman-compose works too); run without a shell")
        ("step-timeout", duration_value(d.executor.step_timeout),
         "how long one DOCKER_RELOAD may run before its process group is killed and the task fails")
        ("shutdown-timeout", duration_value(d.shutdown_timeout),
         "after SIGTERM/SIGINT: how long running tasks may take to finish, and then their reports to "
         "get through")
        ("poll-wait", duration_value(d.poll_wait), "how long the server may hold a claim (long poll, 0-60s)")
        ("request-timeout", duration_value(d.request_timeout), "a bound on any other request to the server")
        ("backoff-max", duration_value(d.backoff_max),
         "longest wait between retries while the server is away (they start at 100ms and double, with jitter)")
        ("log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"), "debug, info, warn or error")
        ("debug-pause-fifo", po::value<std::string>()->value_name("FIFO"),
         "for tests only: before resolving a task's path, wait until FIFO is opened for writing and closed");
    po::options_description all;
    all.add(general).add(agent);
    return all;
}

const std::string& required(const po::variables_map& vm, const char* name) {
    if (!vm.count(name)) throw po::error("the option '--" + std::string(name) + "' is required");
    return vm[name].as<std::string>();
}

std::int64_t in_range(const po::variables_map& vm, const char* name, std::int64_t lo, std::int64_t hi) {
    const auto v = vm[name].as<std::int64_t>();
    if (v < lo || v > hi)
        throw po::error("the argument ('" + std::to_string(v) + "') for option '--" + name + "' is out of range " +
                        std::to_string(lo) + "-" + std::to_string(hi));
    return v;
}

void set_server(Config& c, const std::string& url) {
    auto u = boost::urls::parse_uri(url);
    const auto bad = [&](const std::string& why) {
        return po::error("the argument ('" + url + "') for option '--server' is invalid: " + why);
    };
    if (!u) throw bad("not a URL");
    if (u->scheme() != "http" && u->scheme() != "https") throw bad("expected http://HOST[:PORT] or https://HOST[:PORT]");
    c.tls = u->scheme() == "https";
    if (c.tls) c.port = 443;
    if (u->host().empty()) throw bad("no host");
    if (u->has_query() || u->has_fragment() || u->has_userinfo()) throw bad("no query, fragment or user allowed");
    c.server_url = url;
    c.host = u->host_address();
    if (c.host.size() > 2 && c.host.front() == '[') c.host = c.host.substr(1, c.host.size() - 2);
    if (u->has_port()) {
        const auto port = u->port_number();
        if (port == 0) throw bad("port 0");
        c.port = port;
    }
    std::string path(u->encoded_path());
    while (!path.empty() && path.back() == '/') path.pop_back();
    c.base_path = path;
}

std::string read_token(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw po::error("cannot read the token file " + path);
    std::string token((std::istreambuf_iterator<char>(in)), {});
    // Blanks and the final newline an editor adds are not part of the token.
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    std::size_t start = 0;
    while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
    token.erase(0, start);
    if (token.empty()) throw po::error("the token file " + path + " is empty");
    for (char ch : token)
        if (std::isspace(static_cast<unsigned char>(ch)) || std::iscntrl(static_cast<unsigned char>(ch)))
            throw po::error("the token file " + path + " holds more than one token");
    return token;
}

util::LogLevel log_level(const std::string& name) {
    if (name == "debug") return util::LogLevel::debug;
    if (name == "info") return util::LogLevel::info;
    if (name == "warn") return util::LogLevel::warn;
    if (name == "error") return util::LogLevel::error;
    throw po::error("the argument ('" + name + "') for option '--log-level' is invalid: use debug, info, warn or error");
}

Config to_config(const po::variables_map& vm) {
    using namespace std::chrono_literals;
    Config c;
    set_server(c, required(vm, "server"));
    if (vm.count("tls-ca")) {
        c.tls_ca_file = vm["tls-ca"].as<std::string>();
        if (!c.tls) throw po::error("--tls-ca is for an https:// --server, and --server is " + c.server_url);
    }
    c.agent_id = required(vm, "agent-id");
    if (!model::parse_uuid(c.agent_id))
        throw po::error("the argument ('" + c.agent_id + "') for option '--agent-id' is not a UUID");
    c.token = read_token(required(vm, "token-file"));
    if (vm.count("allow-root")) c.allow_roots = vm["allow-root"].as<std::vector<std::string>>();
    if (c.allow_roots.empty())
        throw po::error("no --allow-root given: the agent refuses to start without a directory to confine tasks to");
    for (const auto& root : c.allow_roots)
        if (root.empty() || root.front() != '/')
            throw po::error("the argument ('" + root + "') for option '--allow-root' is not an absolute path");
    c.concurrency = static_cast<unsigned>(in_range(vm, "concurrency", 1, 256));
    c.executor.compose_command.clear();
    std::istringstream words(vm["compose-command"].as<std::string>());
    for (std::string w; words >> w;) c.executor.compose_command.push_back(w);
    if (c.executor.compose_command.empty()) throw po::error("the option '--compose-command' is empty");
    c.executor.step_timeout = duration(vm, "step-timeout", 1ms, 24h);
    c.shutdown_timeout = duration(vm, "shutdown-timeout", 1ms, 24h);
    c.poll_wait = duration(vm, "poll-wait", 0ms, 60s);
    if (c.poll_wait.count() % 1000 != 0) throw po::error("the option '--poll-wait' must be whole seconds");
    c.request_timeout = duration(vm, "request-timeout", 100ms, 1h);
    c.backoff_max = duration(vm, "backoff-max", 100ms, 1h);
    c.log_level = log_level(vm["log-level"].as<std::string>());
    if (vm.count("debug-pause-fifo")) c.debug_pause_fifo = vm["debug-pause-fifo"].as<std::string>();
    return c;
}

}  // namespace

ParsedOptions parse_options(int argc, const char* const argv[]) {
    ParsedOptions out;
    const po::options_description desc = describe(Config{});
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(desc).positional({}).run(), vm);
        if (vm.count("help")) {
            std::ostringstream text;
            text << "Usage: taskd-agent --server URL --agent-id UUID --token-file FILE --allow-root DIR [options]\n\n"
                    "Executes the tasks taskd hands this agent (FILE_WRITE, ENV_UPDATE, DOCKER_RELOAD,\n"
                    "COMPOSITE), confined to the --allow-root directories.\n"
                    "Every option can also be set as TASKD_AGENT_<OPTION> (TASKD_AGENT_CONCURRENCY=4) or\n"
                    "in --config FILE.\n"
                 << desc << "\n";
            out.output = text.str();
            return out;
        }
        if (vm.count("version")) {
            out.output = std::string("taskd-agent ") + TASKD_VERSION + "\n";
            return out;
        }
        util::store_environment_and_config(desc, "TASKD_AGENT_", vm);
        out.config = to_config(vm);
        out.run = true;
    } catch (const std::exception& e) {
        out.exit_code = 2;
        out.output = std::string("taskd-agent: ") + e.what() + " (see taskd-agent --help)\n";
    }
    return out;
}

}  // namespace taskd::agent
