// Uuid: the 16-byte identifier of tasks, tenants and agents.
//
// Parsing never throws: bad input is a value (std::nullopt), because every id we parse comes
// from a client. Text output is always the canonical lower-case, hyphenated form.
#pragma once

#include <boost/uuid/uuid.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace taskd::model {

using Uuid = boost::uuids::uuid;

// Accepts what the original service (Python's uuid.UUID) accepted from clients: 32 hex digits,
// any case, either bare or hyphenated 8-4-4-4-12, optionally inside braces or after "urn:uuid:".
std::optional<Uuid> parse_uuid(std::string_view text);

// Canonical form: 36 characters, lower-case, hyphenated.
std::string to_string(const Uuid& id);
void append_uuid(std::string& out, const Uuid& id);

// A random (version 4) UUID from OpenSSL's CSPRNG: ids must not be guessable, since an agent
// must not learn of tasks that are not its own.
Uuid random_uuid();

}  // namespace taskd::model
