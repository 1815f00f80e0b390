// taskd-memory-bench: what a task costs in memory and on disk.
//
//   taskd-memory-bench [--tasks N] [--dir DIR]
//
// A fresh store writing its journal as the server does (Store -> Writer, fsync never, so that
// the disk does not pace it) creates N tasks of README's FILE_WRITE payload over 10 tenants
// and reports the growth of the process's resident set divided by N: bytes per pending task.
// Then an agent of each tenant claims every task and completes it with a 30-byte result:
// bytes per completed task, from the same starting point. A snapshot is written after each
// phase: its size divided by N. RSS, not the allocator's count, because RSS is what an edge
// machine runs out of (allocator overhead and fragmentation included).
//
// The source compiles against the store of 909f854 too (the API it uses has not changed), so
// that scripts/bench reports both builds' figures from one run.
#include "journal/snapshot.hpp"
#include "journal/storage.hpp"
#include "journal/writer.hpp"
#include "model/time.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <malloc.h>
#include <unistd.h>

using namespace taskd;

namespace {

// README's "Create a task", as the API keeps it (compact JSON text).
constexpr std::string_view kPayload = R"({"path":"/opt/app/config.json","content":"{}"})";
// A FILE_WRITE agent's answer, cut to the 30 bytes issue 21 names.
constexpr std::string_view kResult = R"({"bytes_written":2,"sha":"ab"})";
static_assert(kResult.size() == 30);
constexpr int kTenants = 10;

std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

struct Args {
    std::size_t tasks = 1'000'000;
    std::filesystem::path dir;
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--tasks") a.tasks = std::stoul(argv[i + 1]);
        else if (flag == "--dir") a.dir = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: taskd-memory-bench [--tasks N] [--dir DIR]\n");
            std::exit(2);
        }
    }
    if (a.tasks == 0) {
        std::fprintf(stderr, "taskd-memory-bench: --tasks must be at least 1\n");
        std::exit(2);
    }
    if (a.dir.empty()) {
        char pattern[] = "/tmp/taskd-memory-bench.XXXXXX";
        a.dir = ::mkdtemp(pattern);
    }
    return a;
}

model::Uuid tenant_uuid(int i) {
    model::Uuid id{};
    id.data[0] = static_cast<std::uint8_t>(i + 1);
    id.data[6] = 0x40;
    return id;
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse(argc, argv);
    std::filesystem::create_directories(args.dir);
    auto storage = journal::make_posix_storage(args.dir);
    model::SystemClock clock;
    journal::WriterOptions options;
    options.fsync = journal::FsyncMode::never;
    journal::Writer writer(*storage, options);
    if (!writer.open(1)) return 1;
    store::Store store(clock, writer);

    std::vector<model::Agent> agents;
    for (int i = 0; i < kTenants; ++i) {
        model::TokenHash hash{};
        hash[0] = static_cast<std::uint8_t>(i);
        hash[1] = 1;
        agents.push_back(store.register_agent("agent-" + std::to_string(i), tenant_uuid(i), hash).value().value);
    }
    auto snapshot_bytes = [&] {
        journal::SnapshotData data = store.capture([&](std::uint64_t s) { writer.rotate_at(s + 1); });
        writer.wait_until_durable(data.sequence);
        auto written = journal::write_snapshot(*storage, data);
        if (!written) {
            std::fprintf(stderr, "taskd-memory-bench: the snapshot failed\n");
            std::exit(1);
        }
        return static_cast<double>(written->bytes);
    };
    const double n = static_cast<double>(args.tasks);

    const std::size_t before = resident_bytes();
    for (std::size_t i = 0; i < args.tasks; ++i) {
        store::NewTask t;
        t.tenant_id = tenant_uuid(static_cast<int>(i % kTenants));
        t.type = "FILE_WRITE";
        t.payload = model::make_json_text(std::string(kPayload));
        if (!store.create_task(std::move(t))) return 1;
    }
    writer.wait_until_durable(writer.last_sequence());
    const double pending = static_cast<double>(resident_bytes() - before) / n;
    const double pending_snapshot = snapshot_bytes() / n;

    for (std::size_t i = 0; i < args.tasks; ++i) {
        const model::Agent& agent = agents[i % kTenants];
        auto claimed = store.claim(agent);
        if (!claimed || !claimed->value) return 1;
        if (!store.patch_task(claimed->value->id,
                              model::Patch{model::Status::completed, model::make_json_text(std::string(kResult))}, agent))
            return 1;
    }
    writer.wait_until_durable(writer.last_sequence());
    // What the server's maintenance pass does every second (server/maintenance.cpp): drop the
    // lease entries that finishes made stale and the queue entries claims spent (a cutoff
    // before every task purges nothing), and give the heap's free pages back (malloc_trim). It
    // also frees the last changes' retired versions.
    (void)store.expire_leases();
    (void)store.purge_finished(model::Timestamp{}, 1);
    ::malloc_trim(0);  // and gives back to the system what is free
    const double completed = static_cast<double>(resident_bytes() - before) / n;
    const double completed_snapshot = snapshot_bytes() / n;

    std::printf("memory: %zu tasks, %.0f bytes/task pending, %.0f bytes/task completed (RSS growth); "
                "snapshot %.0f bytes/task pending, %.0f bytes/task completed\n",
                args.tasks, pending, completed, pending_snapshot, completed_snapshot);
    writer.close();
    std::filesystem::remove_all(args.dir);
    // As taskd-recovery-bench: tearing a million tasks down measures nothing a server does.
    std::fflush(stdout);
    std::_Exit(0);
}
