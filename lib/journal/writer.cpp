#include "journal/writer.hpp"

#include "journal/record.hpp"
#include "util/log.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include <pthread.h>
#include <sched.h>

namespace taskd::journal {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

boost::system::error_code failed_error() {
    return boost::system::errc::make_error_code(boost::system::errc::io_error);
}

// With --fsync never or interval the writer thread is SCHED_BATCH: the same share of the CPU
// as any thread, but no preempting a running one when woken. Where it shares a core with a
// serving thread (one core, or a pinned server), a writer that ran at once on the first append
// of a burst of requests would write that one record alone and the rest of the burst would
// wait for the next write; run once the serving thread has answered the burst, it takes all of
// it in one batch (a third more lifecycles with `never`: BENCHMARKS.md, "The durable
// lifecycle"). With `always` the same wait also delays each fdatasync's completion and showed
// no clear gain, so there the writer keeps its policy. Where another core is idle the writer
// is woken there and nothing changes. Best effort: a refusal leaves the writer as it was.
void stop_preempting_on_wakeup() {
    sched_param param{};
    if (const int error = pthread_setschedparam(pthread_self(), SCHED_BATCH, &param); error != 0)
        util::log_debug(std::string("journal: writer thread stays SCHED_OTHER: ") + std::strerror(error));
}

}  // namespace

std::string segment_name(std::uint64_t first_sequence) {
    char name[64];
    std::snprintf(name, sizeof name, "journal-%020" PRIu64 ".log", first_sequence);
    return name;
}

Writer::Writer(Storage& storage, WriterOptions options) : storage_(storage), options_(options) {}

Writer::~Writer() { close(); }

IoResult<> Writer::open(std::uint64_t next_sequence, const std::optional<SegmentInfo>& last,
                        std::uint64_t snapshot_sequence) {
    {
        std::lock_guard lock(mutex_);
        last_assigned_ = durable_ = next_sequence - 1;
    }
    // A segment whose records stop short of next_sequence - 1 (a snapshot holds records its
    // journal lost: `never` and a power cut) cannot take record next_sequence without a gap.
    const bool continuable = last && last->used_bytes >= kFileHeaderBytes && last->next_sequence == next_sequence &&
                             last->used_bytes < options_.segment_bytes && last->first_sequence > snapshot_sequence;
    if (continuable) {
        if (auto continued = continue_segment(*last); !continued) return continued;
    } else {
        // Only space is at stake in the trim: a failure is logged, the start goes on.
        if (last && last->used_bytes >= kFileHeaderBytes && last->file_bytes > last->used_bytes) {
            if (auto trimmed = storage_.truncate(last->name, last->used_bytes); !trimmed)
                util::log_warn("journal: cannot truncate the unused reservation of " + last->name + ": " +
                               trimmed.error().message());
        }
        // A segment that starts at next_sequence can only hold a header: recovery replayed every
        // record there was. Left by a start that wrote nothing (and could not continue); replace it.
        (void)storage_.remove(segment_name(next_sequence));
        if (auto started = start_segment(next_sequence); !started) return started;
    }
    last_sync_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { run(); });
    return {};
}

void Writer::close() {
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) return;
        stopping_ = true;
    }
    work_.notify_all();
    durable_changed_.notify_all();
    thread_.join();
    // Nothing is left pending once the thread has drained; should a waiter remain (the writer
    // failed), it is answered now rather than destroyed unanswered.
    std::lock_guard lock(mutex_);
    for (auto& [sequence, waiter] : waiters_)
        complete_later(std::move(waiter), sequence <= durable_ ? boost::system::error_code{} : failed_error());
    waiters_.clear();
}

std::uint64_t Writer::append(RecordType type, std::string_view payload) {
    std::uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        sequence = ++last_assigned_;
        if (!healthy()) return sequence;  // the store checks healthy() first; this record is refused
        if (pending_.bytes.empty()) pending_.first = sequence;
        if (rotate_at_ == sequence) {
            pending_.split = pending_.bytes.size();
            pending_.split_sequence = sequence;
            rotate_at_.reset();
        }
        append_record(pending_.bytes, type, sequence, payload);
        pending_.last = sequence;
        ++stats_.records;
    }
    // Outside the lock: a writer woken while it is held (on one core it runs at once) would
    // block on the mutex straight away, a futex wait and wake more per record.
    work_.notify_one();
    return sequence;
}

std::uint64_t Writer::last_sequence() const {
    std::lock_guard lock(mutex_);
    return last_assigned_;
}

std::uint64_t Writer::durable_sequence() const {
    std::lock_guard lock(mutex_);
    return durable_;
}

bool Writer::wait_until_durable(std::uint64_t sequence) {
    std::unique_lock lock(mutex_);
    durable_changed_.wait(lock, [&] { return durable_ >= sequence || !healthy() || stopping_; });
    return durable_ >= sequence;
}

std::string Writer::failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
}

WriterStats Writer::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void Writer::rotate_at(std::uint64_t sequence) {
    std::lock_guard lock(mutex_);
    if (sequence > last_assigned_) rotate_at_ = sequence;
}

void Writer::wait_durable(std::uint64_t sequence, DurableWaiter waiter) {
    std::lock_guard lock(mutex_);
    if (!healthy()) return complete_later(std::move(waiter), failed_error());
    if (sequence <= durable_) return complete_later(std::move(waiter), {});
    waiters_.emplace(sequence, std::move(waiter));
}

void Writer::complete_up_to(std::uint64_t sequence, std::unique_lock<std::mutex>&) {
    const auto end = waiters_.upper_bound(sequence);
    for (auto it = waiters_.begin(); it != end; ++it) complete_later(std::move(it->second), {});
    waiters_.erase(waiters_.begin(), end);
}

void Writer::fail(const std::string& reason) {
    // Called with mutex_ held.
    if (!healthy()) return;
    // Logged first, so the reason is in the log before any client can see a 503 for it.
    util::log_error("journal: " + reason + "; refusing changes until restart");
    failure_ = reason;
    healthy_.store(false, std::memory_order_release);
    durable_changed_.notify_all();
    for (auto& [sequence, waiter] : waiters_) complete_later(std::move(waiter), failed_error());
    waiters_.clear();
}

IoResult<> Writer::start_segment(std::uint64_t first_sequence) {
    // A segment is synced before it is left, in every mode: with `never` that is the only sync
    // besides the one at close, and it costs one per --segment-bytes.
    if (segment_ && unsynced_) {
        if (auto synced = sync_current(); !synced) return synced;
    }
    const std::string name = segment_name(first_sequence);
    auto file = storage_.create(name);
    if (!file) return file.error();
    const std::string header = file_header(kSegmentMagic, first_sequence);
    if (auto ok = (*file)->append(as_bytes(header)); !ok) return ok;
    if (auto ok = (*file)->sync(); !ok) return ok;
    // Reserved after the header is durable, so a file with its full size never lacks one. The
    // reservation becomes durable with the first sync of a record; until then, either size reads
    // the same to recovery.
    (*file)->reserve(options_.segment_bytes);
    if (auto ok = storage_.sync_directory(); !ok) return ok;
    segment_ = std::move(*file);
    segment_first_ = first_sequence;
    segment_size_ = header.size();
    unsynced_ = false;
    return {};
}

IoResult<> Writer::continue_segment(const SegmentInfo& last) {
    // Recovery read the segment to last.used_bytes and found only zeros after it (or cut what
    // was there), so appending there overwrites nothing that was ever a record. Its header is
    // durable; the reservation is taken again (a no-op where it is still there).
    auto file = storage_.open_append(last.name, last.used_bytes);
    if (!file) return file.error();
    (*file)->reserve(options_.segment_bytes);
    segment_ = std::move(*file);
    segment_first_ = last.first_sequence;
    segment_size_ = last.used_bytes;
    unsynced_ = false;
    return {};
}

IoResult<> Writer::sync_current() {
    const auto start = std::chrono::steady_clock::now();
    if (auto ok = segment_->sync(); !ok) return ok;
    const auto end = std::chrono::steady_clock::now();
    const auto micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(end - start).count());
    unsynced_ = false;
    last_sync_ = end;
    sync_durations_.observe(end - start);
    std::lock_guard lock(mutex_);
    ++stats_.syncs;
    stats_.sync_micros_total += micros;
    if (micros > stats_.sync_micros_max) stats_.sync_micros_max = micros;
    return {};
}

IoResult<> Writer::write_batch(const Batch& batch) {
    const std::string_view all = batch.bytes;
    const std::size_t split = batch.split.value_or(all.size());
    auto write_part = [&](std::string_view part) -> IoResult<> {
        if (part.empty() || options_.debug_skip_write) return {};
        if (auto ok = segment_->append(as_bytes(part)); !ok) return ok;
        segment_size_ += part.size();
        unsynced_ = true;
        return {};
    };
    if (segment_size_ >= options_.segment_bytes && !batch.split) {
        if (auto ok = start_segment(batch.first); !ok) return ok;
    }
    if (auto ok = write_part(all.substr(0, split)); !ok) return ok;
    // A rotation at the first record of a segment that holds none yet (one just opened) is
    // already done.
    const bool fresh = segment_first_ == batch.split_sequence && segment_size_ == kFileHeaderBytes;
    if (batch.split && !fresh) {
        if (auto ok = start_segment(batch.split_sequence); !ok) return ok;
    }
    if (batch.split) {
        if (auto ok = write_part(all.substr(split)); !ok) return ok;
    }
    if (options_.fsync == FsyncMode::always) return sync_current();
    return {};
}

void Writer::run() {
    if (options_.fsync != FsyncMode::always) stop_preempting_on_wakeup();
    std::unique_lock lock(mutex_);
    for (;;) {
        if (pending_.bytes.empty()) {
            if (stopping_ || !healthy()) break;
            if (options_.fsync == FsyncMode::interval && unsynced_) {
                const auto due = last_sync_ + options_.fsync_interval;
                if (std::chrono::steady_clock::now() >= due) {
                    lock.unlock();
                    auto synced = sync_current();
                    lock.lock();
                    if (!synced) fail("fdatasync failed: " + synced.error().message());
                    continue;
                }
                work_.wait_until(lock, due);
            } else {
                work_.wait(lock);
            }
            continue;
        }
        Batch batch = std::move(pending_);
        pending_ = Batch{};
        lock.unlock();
        auto written = write_batch(batch);
        lock.lock();
        if (!written) {
            fail("write or fdatasync of records " + std::to_string(batch.first) + "-" + std::to_string(batch.last) +
                 " failed: " + written.error().message());
            break;
        }
        ++stats_.batches;
        stats_.bytes += batch.bytes.size();
        durable_ = batch.last;
        complete_up_to(durable_, lock);
        durable_changed_.notify_all();
    }
    // Leaving: sync what was written (also in `never` mode: a clean stop costs one sync), then
    // give back the reservation past the data, so that a stopped server's files hold only its
    // data. A failed trim loses nothing (the data is synced; recovery reads zeros as the end)
    // and is only logged. After a failure the file's state is unknown: it is left alone.
    if (healthy() && unsynced_) {
        lock.unlock();
        auto synced = sync_current();
        lock.lock();
        if (!synced) fail("fdatasync at close failed: " + synced.error().message());
    }
    if (healthy() && segment_) {
        lock.unlock();
        auto trimmed = segment_->trim();
        lock.lock();
        if (!trimmed)
            util::log_warn("journal: cannot give back the unused reservation of " + segment_name(segment_first_) +
                           " at close: " + trimmed.error().message());
    }
}

}  // namespace taskd::journal
