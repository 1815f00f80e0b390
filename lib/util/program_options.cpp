#include "util/program_options.hpp"

#include <boost/program_options/environment_iterator.hpp>
#include <boost/program_options/parsers.hpp>

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace taskd::util {
namespace po = boost::program_options;

void store_environment_and_config(const po::options_description& desc, const std::string& env_prefix,
                                  po::variables_map& vm) {
    po::store(po::parse_environment(desc,
                                    [&desc, &env_prefix](const std::string& env) -> std::string {
                                        if (!env.starts_with(env_prefix)) return {};
                                        const char* value = std::getenv(env.c_str());
                                        if (!value || !*value) return {};
                                        std::string name = env.substr(env_prefix.size());
                                        for (char& ch : name)
                                            ch = ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
                                        if (name == "help" || name == "version") return {};
                                        return desc.find_nothrow(name, false) ? name : std::string{};
                                    }),
              vm);
    if (vm.count("config")) {
        const auto path = vm["config"].as<std::string>();
        std::ifstream file(path);
        if (!file) throw po::error("cannot read config file " + path);
        po::store(po::parse_config_file(file, desc), vm);
    }
    po::notify(vm);
}

}  // namespace taskd::util
