// taskd-bench: flags -> Options -> run; nothing else. See bench/options.hpp for the usage.
#include "bench/options.hpp"
#include "bench/run.hpp"

int main(int argc, char* argv[]) {
    taskd::bench::Options options;
    if (auto status = taskd::bench::parse_options(argc, argv, options)) return *status;
    return taskd::bench::run(options);
}
