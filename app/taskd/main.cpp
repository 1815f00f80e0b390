// taskd: flags -> Config -> run (or --check-data). Everything else lives in lib/.
#include "server/check_data.hpp"
#include "server/options.hpp"
#include "server/server.hpp"

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
    const auto options = taskd::server::parse_options(argc, argv);
    if (!options.run) {
        std::fputs(options.output.c_str(), options.exit_code == 0 ? stdout : stderr);
        return options.exit_code;
    }
    if (!options.config.check_data_dir.empty()) return taskd::server::check_data(options.config.check_data_dir, std::cout);
    return taskd::server::run(options.config);
}
