// The `cursor` of GET /tasks: an opaque position in the newest-first order.
//
// It encodes the (created_at, id) key of the last task of a page, a format version and a CRC,
// in base64url. A cursor that does not decode (typo, truncation, another server's format) is a
// 422; a decodable one is a position, valid with any filters (API.md, "Fine print").
#pragma once

#include "store/store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace taskd::api {

std::string encode_cursor(const store::TaskKey& key);
std::optional<store::TaskKey> decode_cursor(std::string_view text);

}  // namespace taskd::api
