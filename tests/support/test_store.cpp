#include "test_store.hpp"

#include "postgres_cluster.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

namespace taskd::test {
namespace {

std::mutex mutex;
std::unique_ptr<PostgresCluster> cluster;  // started on first need, stopped at exit
std::map<std::filesystem::path, std::string> databases;

}  // namespace

bool testing_postgres() {
    const char* store = std::getenv("TASKD_TEST_STORE");
    return store && std::string(store) == "postgres";
}

std::optional<std::string> database_url_for(const std::filesystem::path& data_dir) {
    if (!testing_postgres()) return std::nullopt;
    std::lock_guard lock(mutex);
    if (!cluster) cluster = std::make_unique<PostgresCluster>();
    const auto key = std::filesystem::absolute(data_dir).lexically_normal();
    auto it = databases.find(key);
    if (it == databases.end()) {
        const std::string name = "taskd_test_" + std::to_string(databases.size() + 1);
        cluster->create_database(name);
        it = databases.emplace(key, cluster->url(name)).first;
    }
    return it->second;
}

void skip_unless_store_available() {
    if (!testing_postgres() || PostgresCluster::find_binaries()) return;
    std::printf("SKIPPED: TASKD_TEST_STORE=postgres, but PostgreSQL is not installed "
                "(scripts/setup installs postgresql-15)\n");
    std::fflush(stdout);
    std::_Exit(77);
}

}  // namespace taskd::test
