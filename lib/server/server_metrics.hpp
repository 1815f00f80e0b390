// ServerMetrics: the part of GET /metrics that the server's own parts know (the API side writes
// tasks, claims, lease expiries, repeats and waiters): build, HTTP requests and connections,
// the journal, snapshots and recovery.
//
// Thread-safety: write() from any thread once recovered() was called; the sources outlive it.
#pragma once

#include "http/listener.hpp"
#include "http/request_metrics.hpp"
#include "journal/writer.hpp"
#include "server/maintenance.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace taskd::server {

class ServerMetrics {
public:
    // `writer`: the journal's, or nullptr where there is none (the PostgreSQL store).
    ServerMetrics(const http::RequestMetrics& requests, const http::Listener& listener, const journal::Writer* writer)
        : requests_(requests), listener_(listener), writer_(writer) {}

    // Recovery is done: how long it took, when the snapshot it started from was written (0:
    // none), and the maintenance that writes the next ones.
    void recovered(double seconds, std::int64_t snapshot_unix_micros, const Maintenance& maintenance);

    void write(std::string& out) const;

private:
    const http::RequestMetrics& requests_;
    const http::Listener& listener_;
    const journal::Writer* writer_;
    std::atomic<const Maintenance*> maintenance_{nullptr};
    std::atomic<double> recovery_seconds_{0};
    std::atomic<std::int64_t> recovered_snapshot_unix_micros_{0};
};

}  // namespace taskd::server
