#include "bench/run.hpp"

#include "bench/console_pollers.hpp"

#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <unistd.h>

namespace taskd::bench {

int run(const Options& options) {
    if (options.report_file) {
        std::ifstream in(*options.report_file);
        if (!in) {
            std::cerr << "taskd-bench: cannot read " << *options.report_file << "\n";
            return 1;
        }
        return write_table(in, options.ratios, std::cout) ? 0 : 1;
    }

    // A server that closes a connection while we write must not kill the load generator.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        auto scenario = make_scenario(options.scenario, options.scenario_options);
        LoadPlan plan = options.plan;
        const bool terminal = options.progress && ::isatty(STDERR_FILENO);
        if (terminal)
            plan.on_progress = [&](const Progress& p) { std::cerr << progress_line(options.scenario, p) << std::flush; };
        std::optional<ConsolePollers> consoles;
        if (options.console_pollers > 0) consoles.emplace(options.scenario_options.target, options.console_pollers);
        const RunStats stats = run_load(*scenario, plan);
        if (terminal) std::cerr << "\n";
        if (consoles) {
            const auto polled = consoles->stop();
            std::cerr << "console pollers: " << options.console_pollers << ", GET /stats answered " << polled.polls
                      << ", failed " << polled.failed << "\n";
        }

        RunInfo info;
        info.system = options.label;
        info.scenario = options.scenario;
        info.protocol = options.scenario_options.protocol == Protocol::beanstalk ? "beanstalk"
                        : options.scenario_options.target.tls                 ? "https"
                                                                              : "http";
        info.connections = plan.connections;
        info.threads = plan.threads;
        info.rate = plan.rate;
        if (options.json) std::cout << to_json_line(info, stats) << std::endl;
        else std::cout << to_text(info, stats);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "taskd-bench: " << options.scenario << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace taskd::bench
