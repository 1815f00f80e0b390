// taskd: flags -> Config -> run. Everything else lives in lib/.
#include "server/options.hpp"
#include "server/server.hpp"

#include <cstdio>

int main(int argc, char** argv) {
    const auto options = taskd::server::parse_options(argc, argv);
    if (!options.run) {
        std::fputs(options.output.c_str(), options.exit_code == 0 ? stdout : stderr);
        return options.exit_code;
    }
    return taskd::server::run(options.config);
}
