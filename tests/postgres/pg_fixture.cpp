#include "pg_fixture.hpp"

#include <atomic>
#include <cctype>

namespace taskd::test {

PostgresCluster& shared_cluster() {
    static PostgresCluster cluster;
    return cluster;
}

std::string fresh_database(PostgresCluster& cluster) {
    static std::atomic<int> counter{0};
    std::string name = "t" + std::to_string(++counter) + "_";
    for (char c : boost::unit_test::framework::current_test_case().p_name.get()) {
        name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    }
    name.resize(std::min<std::size_t>(name.size(), 60));  // PostgreSQL's identifiers: 63 bytes
    cluster.create_database(name);
    return cluster.url(name);
}

IoThreads::IoThreads(int threads) : work_(io_.get_executor()) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

IoThreads::~IoThreads() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
}

}  // namespace taskd::test
