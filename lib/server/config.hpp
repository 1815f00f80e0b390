// Config: everything taskd is told at start, with its defaults. Filled by options.cpp from
// flags, TASKD_* environment variables and --config FILE; read by server.cpp.
#pragma once

#include "api/context.hpp"
#include "http/limits.hpp"
#include "journal/recovery.hpp"
#include "journal/writer.hpp"
#include "model/schedule.hpp"
#include "server/maintenance.hpp"
#include "store/store.hpp"
#include "util/log.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace taskd::server {

struct Config {
    std::string listen = "127.0.0.1:8000";
    // --tls-cert, --tls-key: HTTPS with this PEM certificate (chain) and key; both empty: plain
    // HTTP. Read again on SIGHUP.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::filesystem::path data_dir = "data";
    // --database-url: tasks and agents in PostgreSQL instead of memory + journal (several nodes
    // may share one database); empty: the embedded store in data_dir.
    std::string database_url;
    std::size_t database_pool = 8;  // connections to the database per node
    std::string admin_token_file;
    std::string admin_token_env;  // TASKD_ADMIN_TOKEN
    bool insecure_no_admin_auth = false;
    unsigned threads = 0;  // 0: one per core
    http::Limits http;
    api::ApiConfig api;
    // What the API can make the store hold. A task costs about 830 bytes of memory today
    // (issue 21), so 5,000,000 is about 4 GB: past it a node would be swapping or killed, and a
    // 503 says why instead. One tenant's backlog is bounded well below that, so that it cannot
    // take the whole node from the others.
    store::Store::Limits store{.max_tasks = 5'000'000, .max_pending_per_tenant = 1'000'000};
    // How long in-flight requests may take to finish after SIGTERM before the process exits.
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds{10}};
    util::LogLevel log_level = util::LogLevel::info;
    util::LogFormat log_format = util::LogFormat::text;
    bool access_log = true;  // --access-log
    journal::WriterOptions journal;
    journal::RecoverMode recover = journal::RecoverMode::strict;
    MaintenanceConfig maintenance;
    // --check-data DIR: verify DIR's snapshot and journal, print what they hold, and exit.
    std::string check_data_dir;
    // Tests only: the clock stands still at the start time, so that every task created shares
    // one created_at (ties) and no lease ever runs out.
    bool debug_frozen_clock = false;
    // --shared-claim-order (issue 23). The PostgreSQL store implements both; the embedded store
    // claims `oldest` until it schedules (issue 23: its claim queues are being rewritten).
    model::SharedClaimOrder shared_claim_order = model::SharedClaimOrder::oldest;
};

}  // namespace taskd::server
