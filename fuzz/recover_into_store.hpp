// recover_into_store: journal::recover over `storage`, every change applied to a fresh Store
// as the server does (store/replay), for the snapshot and recovery fuzz targets.
#pragma once

#include "journal/change_log.hpp"
#include "journal/recovery.hpp"
#include "model/time.hpp"
#include "store/store.hpp"

#include <optional>

namespace taskd::fuzz {

inline std::optional<journal::RecoveryReport> recover_into_store(journal::Storage& storage, journal::RecoverMode mode,
                                                                 bool read_only) {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    journal::MemoryLog log;
    store::Store store{clock, log};
    auto report = [&] {
        store::Store::Replay replay(store);
        return journal::recover(storage, mode, read_only, [&](journal::Change&& c) { replay.apply(std::move(c)); });
    }();
    if (!report) return std::nullopt;
    return std::move(*report);
}

}  // namespace taskd::fuzz
