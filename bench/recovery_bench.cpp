// taskd-recovery-bench: how long a restart takes, and how long a snapshot stops writers.
//
//   taskd-recovery-bench [--tasks N] [--tail N] [--dir DIR]
//
// Builds a journal in-process exactly as the server writes it (Store -> Writer, fsync never):
// N tasks over 100 tenants, a third of them claimed and a sixth of those completed; takes a
// snapshot (measuring the capture pause, during which the store's writers wait, and the write);
// appends --tail more creates to the journal; then recovers the directory into a fresh store,
// as taskd does at start, and reports the time. The figures go into BENCHMARKS.md.
#include "journal/recovery.hpp"
#include "journal/snapshot.hpp"
#include "journal/storage.hpp"
#include "journal/writer.hpp"
#include "model/time.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace taskd;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Args {
    std::size_t tasks = 1'000'000;
    std::size_t tail = 100'000;
    std::filesystem::path dir;
    bool keep = false;          // leave the directory for a later --recover-only run
    bool recover_only = false;  // only recover --dir (made by an earlier --keep run)
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--tasks") a.tasks = std::stoul(argv[i + 1]);
        else if (flag == "--tail") a.tail = std::stoul(argv[i + 1]);
        else if (flag == "--dir") a.dir = argv[i + 1];
        else if (flag == "--keep") a.keep = std::string(argv[i + 1]) == "1";
        else if (flag == "--recover-only") a.recover_only = std::string(argv[i + 1]) == "1";
        else {
            std::fprintf(stderr,
                         "usage: taskd-recovery-bench [--tasks N] [--tail N] [--dir DIR] [--keep 1] [--recover-only 1]\n");
            std::exit(2);
        }
    }
    if (a.dir.empty()) {
        char pattern[] = "/tmp/taskd-recovery-bench.XXXXXX";
        a.dir = ::mkdtemp(pattern);
    }
    return a;
}

store::NewTask new_task(std::size_t i) {
    store::NewTask t;
    t.tenant_id = model::Uuid{};
    t.tenant_id.data[0] = static_cast<std::uint8_t>(i % 100);
    t.tenant_id.data[6] = 0x40;
    t.type = "FILE_WRITE";
    t.payload = model::make_json_text(R"({"path":"/opt/app/config-)" + std::to_string(i) +
                                      R"(.json","content":"{\"key\": \"value\", \"n\": )" + std::to_string(i) + "}\"}");
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse(argc, argv);
    std::filesystem::create_directories(args.dir);
    auto storage = journal::make_posix_storage(args.dir);
    model::SystemClock clock;

    if (!args.recover_only) {
        journal::WriterOptions options;
        options.fsync = journal::FsyncMode::never;
        journal::Writer writer(*storage, options);
        if (!writer.open(1)) return 1;
        store::Store store(clock, writer);
        std::vector<model::Agent> agents;
        for (int i = 0; i < 100; ++i) {
            model::TokenHash hash{};
            hash[0] = static_cast<std::uint8_t>(i);
            hash[1] = 1;
            std::optional<model::Uuid> tenant = model::Uuid{};
            tenant->data[0] = static_cast<std::uint8_t>(i);
            tenant->data[6] = 0x40;
            agents.push_back(store.register_agent("agent-" + std::to_string(i), tenant, hash).value().value);
        }
        auto t0 = Clock::now();
        for (std::size_t i = 0; i < args.tasks; ++i) {
            (void)store.create_task(new_task(i));
            if (i % 3 == 0) {
                auto claimed = store.claim(agents[i % 100]).value().value;
                if (claimed && i % 6 == 0)
                    (void)store.patch_task(claimed->id, model::Patch{model::Status::completed,
                                                                     model::make_json_text(R"({"ok":true})")},
                                           agents[i % 100]);
            }
        }
        writer.wait_until_durable(writer.last_sequence());
        std::printf("built %zu tasks (%llu records) in %.0f ms\n", store.task_count(),
                    static_cast<unsigned long long>(writer.last_sequence()), ms_since(t0));

        t0 = Clock::now();
        journal::SnapshotData data = store.capture([&](std::uint64_t s) { writer.rotate_at(s + 1); });
        const double capture = ms_since(t0);
        const double pause = static_cast<double>(data.pause.count()) / 1000.0;
        writer.wait_until_durable(data.sequence);
        t0 = Clock::now();
        auto written = journal::write_snapshot(*storage, data);
        if (!written) return 1;
        std::printf("snapshot: writers paused %.1f ms (readers never); capture %.0f ms in all; write %.0f ms, "
                    "%.1f MB, removed %zu segments\n",
                    pause, capture, ms_since(t0), static_cast<double>(written->bytes) / 1e6, written->segments_removed);

        for (std::size_t i = 0; i < args.tail; ++i) (void)store.create_task(new_task(args.tasks + i));
        writer.close();
    }

    // As the server does at start (server.cpp): a fresh store, the changes moved into it.
    journal::MemoryLog unused;
    auto* recovered_store = new store::Store(clock, unused);  // left to the exit: see the end
    store::Store& recovered = *recovered_store;
    const auto t0 = Clock::now();
    auto report = [&] {
        store::Store::Replay replay(recovered);
        return journal::recover(
            *storage, journal::RecoverMode::strict, false, [&](journal::Change&& c) { replay.apply(std::move(c)); },
            [&](std::uint64_t tasks) { replay.reserve(tasks); });
    }();
    const double took = ms_since(t0);
    if (!report) {
        std::fprintf(stderr, "recovery failed: %s\n", report.error().message.c_str());
        return 1;
    }
    std::printf("recovery: %zu tasks, %zu agents from %s (%llu tasks) + %llu journal records in %.0f ms\n",
                recovered.task_count(), recovered.list_agents().size(), report->snapshot_file.c_str(),
                static_cast<unsigned long long>(report->snapshot_tasks),
                static_cast<unsigned long long>(report->records_replayed), took);
    if (!args.keep) std::filesystem::remove_all(args.dir);
    // Tearing a million tasks down costs more than reading them and measures nothing that a
    // server does; the process ends without it.
    std::fflush(stdout);
    std::_Exit(0);
}
