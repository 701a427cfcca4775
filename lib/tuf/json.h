// SPDX-License-Identifier: GPL-2.0-only
//
// JSON for TUF metadata: a strict parser and the canonical encoding signatures are made over.
//
// TUF signs the *canonical form* of the `signed` object (OLPC Canonical JSON as securesystemslib
// and tuf-js implement it): no whitespace, object members sorted by key, integers only, and in
// strings only `\` and `"` escaped, every other byte written raw. A verifier parses the file
// and re-encodes the parsed value, so the file itself may be formatted any way.
//
// Why our own encoder over nlohmann::json: dump() escapes control characters ("\n" becomes
// `\n`), which changes the signed bytes of any metadata whose description holds a newline.
// Why a strict parser: nlohmann keeps the last of two duplicate keys without a word (two
// parsers could then see two different documents behind one signature), parses `1.0` as a
// float (canonical JSON has none; both reference encoders throw), and tuf-js holds numbers
// as doubles, so an integer beyond 2^53 would mean different versions to different clients.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "support/error.h"

namespace kpg::tuf {

using json = nlohmann::json; // std::map objects: keys sorted by byte value, as canonical JSON wants

// Parses `text`, refusing duplicate object keys, non-integer numbers and integers outside
// +-2^53. `where` names the document in errors ("timestamp.json").
Expected<json> parse_strict(std::string_view text, const Location &where);

// The canonical form. Fails (naming the member) on a floating-point number.
Expected<std::string> canonical(const json &value);

// The largest integer every TUF client can represent exactly (IEEE double mantissa).
inline constexpr u64 kMaxSafeInteger = (u64(1) << 53);

} // namespace kpg::tuf
