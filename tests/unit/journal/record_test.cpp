// journal/record and journal/codec: the framing of one record and of a file header, and the
// Decoder's promise never to read past its input (every prefix of every payload is refused,
// each copied into a buffer of exactly its size so that AddressSanitizer sees any overrun).
#include "journal/change.hpp"
#include "journal/codec.hpp"
#include "journal/crc32c.hpp"
#include "journal/record.hpp"
#include "journal_support.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace taskd;
using journal::ParseResult;
using journal::RecordType;
using test::bytes_of;

constexpr RecordType kAllTypes[] = {
    RecordType::task_created,  RecordType::task_claimed,   RecordType::task_updated,
    RecordType::task_lease_expired, RecordType::agent_registered, RecordType::agent_deleted,
    RecordType::tasks_purged,  RecordType::agent_seen,     RecordType::snapshot_agent,
    RecordType::snapshot_task, RecordType::snapshot_end,   RecordType::snapshot_tasks,
};

ParseResult parse(const std::string& bytes, journal::RecordView& out) {
    return journal::parse_record(bytes_of(bytes), out);
}

// A record framed by hand with any type byte and a correct CRC.
std::string raw_record(std::uint8_t type, std::uint64_t sequence, std::string_view payload) {
    std::string body;
    journal::Encoder e(body);
    e.u32(static_cast<std::uint32_t>(payload.size()));
    e.u8(type);
    e.u64(sequence);
    body.append(payload);
    std::string out;
    journal::Encoder(out).u32(journal::mask_crc(journal::crc32c(bytes_of(body))));
    return out + body;
}

model::Task sample_task() {
    model::Task t;
    // Fixed ids: the tests compare decoded records with a second call's task.
    t.id = *model::parse_uuid("11111111-2222-4333-8444-555555555555");
    t.tenant_id = *model::parse_uuid("aaaaaaaa-0000-4000-8000-000000000001");
    t.agent_id = *model::parse_uuid("cccccccc-0000-4000-8000-000000000003");
    t.type = "FILE_WRITE";
    t.payload = model::make_json_text(R"({"path":"/tmp/x"})");
    t.status = model::Status::completed;
    t.result = model::make_json_text(R"({"ok":true})");
    t.created_at = model::from_micros(1'700'000'000'000'000);
    t.updated_at = model::from_micros(1'700'000'000'500'000);
    t.attempts = 2;
    t.max_attempts = 5;
    t.lease_seconds = 90;
    t.version = 7;
    return t;
}

// One valid payload of every record type, from the encoders the store uses.
std::vector<std::pair<RecordType, std::string>> sample_payloads() {
    const model::Task task = sample_task();
    model::Task running = task;
    running.status = model::Status::running;
    running.result.reset();
    running.lease_expires_at = model::from_micros(1'700'000'090'000'000);
    model::Agent agent;
    agent.id = model::random_uuid();
    agent.name = "worker-1";
    agent.tenant_id = task.tenant_id;
    agent.token_hash.fill(0xab);
    agent.created_at = task.created_at;
    agent.last_seen_at = task.updated_at;
    const auto at = task.updated_at;
    const journal::SnapshotTask run[] = {{&running, std::nullopt}, {&task, std::string("key-2")}};
    return {
        {RecordType::task_created, journal::encode_task_created(task, std::string("key-1"))},
        {RecordType::task_claimed, journal::encode_task_state(running)},
        {RecordType::task_updated, journal::encode_task_state(task)},
        {RecordType::task_lease_expired, journal::encode_task_state(task)},
        {RecordType::agent_registered, journal::encode_agent_registered(agent)},
        {RecordType::agent_deleted, journal::encode_agent_deleted(agent.id, at, {running, task})},
        {RecordType::tasks_purged, journal::encode_tasks_purged(at, {task.id, running.id, agent.id})},
        {RecordType::agent_seen, journal::encode_agent_seen(agent.id, at)},
        {RecordType::snapshot_agent, journal::encode_snapshot_agent(agent)},
        {RecordType::snapshot_task, journal::encode_snapshot_task(running, std::nullopt)},
        {RecordType::snapshot_end, journal::encode_snapshot_end(3, 4)},
        {RecordType::snapshot_tasks, journal::encode_snapshot_tasks(run)},
    };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_record)

BOOST_AUTO_TEST_CASE(round_trip_of_every_type_back_to_back) {
    std::string framed;
    std::vector<std::string> payloads;
    std::uint64_t sequence = 1ull << 40;  // the sequence field is 64 bits wide
    for (RecordType type : kAllTypes) {
        // Binary payloads of different lengths: a NUL byte inside, and a tail that grows.
        payloads.push_back(std::string(journal::to_string(type)) + std::string("\0payload", 8) +
                           std::string(payloads.size() * 7, 'x'));
        journal::append_record(framed, type, sequence++, payloads.back());
    }
    journal::append_record(framed, RecordType::agent_seen, sequence, "");  // an empty payload frames too

    std::string_view rest = framed;
    sequence = 1ull << 40;
    for (std::size_t i = 0; i <= payloads.size(); ++i) {
        BOOST_TEST_CONTEXT("record " << i) {
            journal::RecordView r;
            BOOST_TEST_REQUIRE((journal::parse_record(bytes_of(rest), r) == ParseResult::ok));
            const bool last = i == payloads.size();
            BOOST_TEST((r.type == (last ? RecordType::agent_seen : kAllTypes[i])));
            BOOST_TEST(r.sequence == sequence++);
            const std::string payload(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
            BOOST_TEST(payload == (last ? std::string() : payloads[i]));
            BOOST_TEST(r.size == journal::kRecordHeaderBytes + payload.size());
            rest.remove_prefix(r.size);
        }
    }
    BOOST_TEST(rest.empty());
}

BOOST_AUTO_TEST_CASE(every_prefix_is_truncated_and_every_flipped_bit_is_detected) {
    std::string record;
    journal::append_record(record, RecordType::task_updated, 42, "{\"some\":\"payload\"}");
    journal::RecordView r;
    for (std::size_t n = 0; n < record.size(); ++n) {
        BOOST_TEST_CONTEXT("prefix of " << n << " bytes") {
            const std::vector<std::uint8_t> prefix(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(n));
            BOOST_TEST((journal::parse_record(prefix, r) == ParseResult::truncated));
        }
    }
    for (std::size_t i = 0; i < record.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            std::string damaged = record;
            damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
            BOOST_TEST_CONTEXT("byte " << i << " bit " << bit) {
                // A longer length than there are bytes reads as a cut record; anything else fails
                // the CRC. Never ok.
                BOOST_TEST((parse(damaged, r) != ParseResult::ok));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(impossible_length_and_unknown_type_are_corrupt) {
    journal::RecordView r;
    // A length past the maximum is damage even if the data were long enough: no allocation.
    std::string header;
    journal::Encoder e(header);
    e.u32(0);
    e.u32(journal::kMaxRecordPayloadBytes + 1);
    e.u8(1);
    e.u64(1);
    BOOST_TEST((parse(header, r) == ParseResult::corrupt));

    for (int type : {0, 9, 63, 68, 255}) {
        BOOST_TEST_CONTEXT("type " << type) {
            BOOST_TEST((parse(raw_record(static_cast<std::uint8_t>(type), 1, "x"), r) == ParseResult::corrupt));
        }
    }
    BOOST_TEST((parse(raw_record(8, 1, "x"), r) == ParseResult::ok));
    BOOST_TEST(!journal::is_known(0));
    BOOST_TEST(journal::is_known(67));
}

BOOST_AUTO_TEST_CASE(file_header_round_trip_and_damage) {
    for (std::uint64_t first : {1ull, 12345ull, ~0ull}) {
        for (std::string_view magic : {journal::kSegmentMagic, journal::kSnapshotMagic}) {
            BOOST_TEST_CONTEXT(magic << " first " << first) {
                const std::string header = journal::file_header(magic, first);
                BOOST_TEST(header.size() == journal::kFileHeaderBytes);
                journal::FileHeader h;
                BOOST_TEST((journal::parse_file_header(bytes_of(header), magic, h) == ParseResult::ok));
                BOOST_TEST(h.version == journal::kFormatVersion);
                BOOST_TEST(h.first_sequence == first);
                const std::string_view other =
                    magic == journal::kSegmentMagic ? journal::kSnapshotMagic : journal::kSegmentMagic;
                BOOST_TEST((journal::parse_file_header(bytes_of(header), other, h) == ParseResult::corrupt));
            }
        }
    }
    const std::string header = journal::file_header(journal::kSegmentMagic, 77);
    journal::FileHeader h;
    for (std::size_t n = 0; n < header.size(); ++n) {
        BOOST_TEST_CONTEXT("prefix of " << n) {
            const std::vector<std::uint8_t> prefix(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
            BOOST_TEST((journal::parse_file_header(prefix, journal::kSegmentMagic, h) == ParseResult::truncated));
        }
    }
    for (std::size_t i = 0; i < header.size(); ++i) {
        std::string damaged = header;
        damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
        BOOST_TEST_CONTEXT("byte " << i) {
            BOOST_TEST(
                (journal::parse_file_header(bytes_of(damaged), journal::kSegmentMagic, h) == ParseResult::corrupt));
        }
    }
    // Another version with a correct CRC: a reader of version 1 must not guess.
    std::string v2(journal::kSegmentMagic);
    journal::Encoder e(v2);
    e.u32(journal::kFormatVersion + 1);
    e.u64(77);
    e.u32(journal::mask_crc(journal::crc32c(bytes_of(v2))));
    BOOST_TEST((journal::parse_file_header(bytes_of(v2), journal::kSegmentMagic, h) == ParseResult::corrupt));
}

BOOST_AUTO_TEST_CASE(decoder_reads_every_field_and_stops_at_the_end) {
    std::string bytes;
    journal::Encoder e(bytes);
    const model::Uuid id = model::random_uuid();
    e.u8(7);
    e.u32(0xdeadbeef);
    e.u64(0x0102030405060708ull);
    e.i64(-5);
    e.uuid(id);
    e.string("hello");
    e.optional(std::optional<std::string>("opt"), [&](const std::string& s) { e.string(s); });
    e.optional(std::optional<std::string>(), [&](const std::string& s) { e.string(s); });

    auto read_all = [&](journal::Decoder& d) {
        const auto a = d.u8();
        const auto b = d.u32();
        const auto c = d.u64();
        const auto t = d.i64();
        const auto u = d.uuid();
        const auto s = d.string();
        const bool p1 = d.present();
        const auto o = p1 ? d.string() : std::string();
        const bool p2 = d.present();
        return std::make_tuple(a, b, c, t, u, s, p1, o, p2);
    };
    {
        journal::Decoder d(bytes_of(bytes));
        const auto [a, b, c, t, u, s, p1, o, p2] = read_all(d);
        BOOST_TEST(d.ok());
        BOOST_TEST(d.done());
        BOOST_TEST(a == 7);
        BOOST_TEST(b == 0xdeadbeefu);
        BOOST_TEST(c == 0x0102030405060708ull);
        BOOST_TEST(t == -5);
        BOOST_TEST((u == id));
        BOOST_TEST(s == "hello");
        BOOST_TEST(p1);
        BOOST_TEST(o == "opt");
        BOOST_TEST(!p2);
        BOOST_TEST(d.u8() == 0);  // past the end: zero, and not ok
        BOOST_TEST(!d.ok());
    }
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        BOOST_TEST_CONTEXT("prefix of " << n) {
            const std::vector<std::uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
            journal::Decoder d(prefix);
            (void)read_all(d);
            BOOST_TEST(!d.ok());
        }
    }
    // A string length beyond the input, and a presence byte other than 0 or 1.
    std::string lying;
    journal::Encoder(lying).u32(1000);
    lying += "short";
    journal::Decoder d1(bytes_of(lying));
    BOOST_TEST(d1.string().empty());
    BOOST_TEST(!d1.ok());
    const std::vector<std::uint8_t> two = {2};
    journal::Decoder d2(two);
    (void)d2.present();
    BOOST_TEST(!d2.ok());
}

BOOST_AUTO_TEST_CASE(decode_change_refuses_every_truncation_and_any_extra_byte) {
    std::mt19937 rng(404);
    for (const auto& [type, payload] : sample_payloads()) {
        BOOST_TEST_CONTEXT(journal::to_string(type)) {
            BOOST_TEST(journal::decode_change(type, bytes_of(payload)).has_value());
            for (std::size_t n = 0; n < payload.size(); ++n) {
                BOOST_TEST_CONTEXT("prefix of " << n) {
                    const std::vector<std::uint8_t> prefix(payload.begin(),
                                                           payload.begin() + static_cast<std::ptrdiff_t>(n));
                    BOOST_TEST(!journal::decode_change(type, prefix).has_value());
                }
            }
            const std::string longer = payload + '\0';
            BOOST_TEST(!journal::decode_change(type, bytes_of(longer)).has_value());
            // Random bytes of random lengths: refused or decoded, never an overrun or a throw.
            for (int i = 0; i < 200; ++i) {
                std::vector<std::uint8_t> noise(rng() % (payload.size() + 8));
                for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
                (void)journal::decode_change(type, noise);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(decoded_payloads_hold_what_was_encoded) {
    const auto payloads = sample_payloads();
    const model::Task task = sample_task();
    auto created = journal::decode_change(RecordType::task_created, bytes_of(payloads[0].second));
    BOOST_TEST_REQUIRE(created.has_value());
    const auto& c = std::get<journal::TaskCreated>(*created);
    BOOST_TEST((c.task.id == task.id));
    BOOST_TEST((c.task.tenant_id == task.tenant_id));
    BOOST_TEST(c.task.type == task.type);
    BOOST_TEST(*c.task.payload == *task.payload);
    BOOST_TEST(c.task.max_attempts == task.max_attempts);
    BOOST_TEST(c.task.lease_seconds == task.lease_seconds);
    BOOST_TEST((c.task.created_at == task.created_at));
    BOOST_TEST(c.idempotency_key.value_or("") == "key-1");

    auto updated = journal::decode_change(RecordType::task_updated, bytes_of(payloads[2].second));
    BOOST_TEST_REQUIRE(updated.has_value());
    model::Task replayed = task;
    replayed.version = 1;
    replayed.result.reset();
    journal::apply_state(replayed, std::get<journal::TaskChanged>(*updated).state);
    BOOST_TEST(test::describe(replayed) == test::describe(task));

    auto snap = journal::decode_change(RecordType::snapshot_task, bytes_of(payloads[9].second));
    BOOST_TEST_REQUIRE(snap.has_value());
    const auto& s = std::get<journal::TaskCreated>(*snap).task;
    BOOST_TEST((s.id == task.id));
    BOOST_TEST((s.status == model::Status::running));
    BOOST_TEST(s.version == task.version);
    BOOST_TEST(!s.result);
    BOOST_TEST(s.lease_expires_at.has_value());
}

// A run of version 2 holds every field of every task: states with and without an agent, a
// result, a lease, a key; tenants, types and agents shared and not; created_at going back.
BOOST_AUTO_TEST_CASE(snapshot_tasks_hold_every_field_of_each_task) {
    std::vector<model::Task> tasks;
    std::vector<std::optional<std::string>> keys;
    for (int i = 0; i < 7; ++i) {
        model::Task t = sample_task();
        t.id = model::random_uuid();
        t.tenant_id.data[15] = static_cast<std::uint8_t>(i % 3);
        t.type = i % 2 ? "ENV_UPDATE" : "FILE_WRITE";
        t.payload = model::make_json_text(std::string(static_cast<std::size_t>(i) * 40, 'x'));
        t.status = static_cast<model::Status>(i % 4);
        t.created_at = model::from_micros(1'700'000'000'000'000 + (i == 4 ? -5'000'000 : i * 1'000));
        t.updated_at = t.created_at + std::chrono::microseconds(i * 123'457);
        t.version = 1ull << (i * 9);
        t.attempts = static_cast<std::uint32_t>(i);
        t.max_attempts = 100;
        t.lease_seconds = 86400 - static_cast<std::uint32_t>(i);
        if (i % 4 == 0) t.agent_id.reset();
        else t.agent_id->data[15] = static_cast<std::uint8_t>(i % 2);
        if (i % 3 == 0) t.result.reset();
        if (t.status == model::Status::running) t.lease_expires_at = t.updated_at + std::chrono::seconds(90 + i);
        tasks.push_back(t);
        keys.push_back(i % 2 ? std::optional<std::string>("key-" + std::to_string(i)) : std::nullopt);
    }
    std::vector<journal::SnapshotTask> run;
    for (std::size_t i = 0; i < tasks.size(); ++i) run.push_back({&tasks[i], keys[i]});

    auto decoded = journal::decode_change(RecordType::snapshot_tasks, bytes_of(journal::encode_snapshot_tasks(run)));
    BOOST_TEST_REQUIRE(decoded.has_value());
    const auto& got = std::get<journal::SnapshotTasks>(*decoded).tasks;
    BOOST_TEST_REQUIRE(got.size() == tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        BOOST_TEST_CONTEXT("task " << i) {
            BOOST_TEST(test::describe(got[i].task) == test::describe(tasks[i]));
            BOOST_TEST(*got[i].task.payload == *tasks[i].payload);
            BOOST_TEST(got[i].task.max_attempts == tasks[i].max_attempts);
            BOOST_TEST(got[i].task.lease_seconds == tasks[i].lease_seconds);
            BOOST_TEST((got[i].task.tenant_id == tasks[i].tenant_id));
            BOOST_TEST(got[i].task.type == tasks[i].type);
            BOOST_TEST((got[i].task.created_at == tasks[i].created_at));
            BOOST_TEST(got[i].idempotency_key.value_or("-") == keys[i].value_or("-"));
        }
    }
}

// A dictionary index past its dictionary is damage, not a read out of bounds.
BOOST_AUTO_TEST_CASE(snapshot_tasks_refuse_an_index_past_a_dictionary) {
    const model::Task task = sample_task();
    const journal::SnapshotTask one[] = {{&task, std::nullopt}};
    std::string bytes = journal::encode_snapshot_tasks(one);
    // count 1, one tenant, one type "FILE_WRITE", one agent; then the task: id, tenant index.
    const std::size_t tenant_index_at = 1 + 1 + 16 + 1 + 1 + task.type.size() + 1 + 16 + 16;
    BOOST_TEST_REQUIRE(bytes[tenant_index_at] == 0);
    bytes[tenant_index_at] = 1;
    BOOST_TEST(!journal::decode_change(RecordType::snapshot_tasks, bytes_of(bytes)).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
