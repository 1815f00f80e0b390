#include "format2_records.hpp"

#include "journal/codec.hpp"

namespace taskd::test {

std::string format2_task_created(const model::Uuid& id, const model::Uuid& tenant, std::string_view payload,
                                 std::int64_t created_us) {
    std::string out;
    journal::Encoder e(out);
    e.uuid(id);
    e.uuid(tenant);
    e.string("noop");
    e.string(payload);
    e.i64(created_us);
    e.u32(3);
    e.u32(300);
    e.u8(0);  // no idempotency key
    return out;
}

std::string format2_snapshot_tasks(const model::Uuid& id, const model::Uuid& tenant, std::string_view payload,
                                   std::int64_t created_us) {
    std::string out;
    journal::Encoder e(out);
    e.varint(1);  // count
    e.varint(1);  // tenants
    e.uuid(tenant);
    e.varint(1);  // types
    e.short_string("noop");
    e.varint(0);  // no agents
    e.uuid(id);
    e.varint(0);  // tenant index
    e.varint(0);  // type index
    e.short_string(payload);
    e.svarint(created_us);
    e.u8(0);  // flags: pending, nothing optional
    e.varint(3);
    e.varint(300);
    e.varint(0);  // attempts
    e.varint(1);  // version
    e.svarint(0);  // updated_at - created_at
    return out;
}

}  // namespace taskd::test
