#include "process_usage.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace taskd::test {

std::size_t open_descriptors(int pid) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        ++n;
    return n;
}

std::size_t resident_bytes(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) != 0) continue;
        std::istringstream fields(line.substr(6));
        std::size_t kib = 0;
        fields >> kib;  // "VmRSS:     12345 kB"
        return kib * 1024;
    }
    throw std::runtime_error("no VmRSS for process " + std::to_string(pid));
}

}  // namespace taskd::test
