// taskd-agent: flags -> Config -> run. Everything else lives in lib/agent.
#include "agent/agent.hpp"
#include "agent/options.hpp"

#include <cstdio>

int main(int argc, char** argv) {
    const auto options = taskd::agent::parse_options(argc, argv);
    if (!options.run) {
        std::fputs(options.output.c_str(), options.exit_code == 0 ? stdout : stderr);
        return options.exit_code;
    }
    return taskd::agent::run(options.config);
}
