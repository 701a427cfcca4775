// SPDX-License-Identifier: GPL-2.0-only
#include "tuf/json.h"

#include <set>
#include <vector>

#include <fmt/format.h>

namespace kpg::tuf {

Expected<json> parse_strict(std::string_view text, const Location &where) {
  // The parser callback sees every key and value as it is read: a stack of the keys seen in
  // each open object finds duplicates, and number events are checked for their kind.
  std::vector<std::set<std::string>> keys;
  std::string problem;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json &parsed) -> bool {
    switch (ev) {
    case json::parse_event_t::object_start: keys.emplace_back(); break;
    case json::parse_event_t::object_end:
      if (!keys.empty())
        keys.pop_back();
      break;
    case json::parse_event_t::key:
      if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second && problem.empty())
        problem = fmt::format("duplicate object key \"{}\"", parsed.get<std::string>());
      break;
    case json::parse_event_t::value:
      if (problem.empty()) {
        if (parsed.is_number_float())
          problem = fmt::format("non-integer number {} (canonical JSON has integers only)", parsed.dump());
        else if (parsed.is_number_unsigned() && parsed.get<u64>() > kMaxSafeInteger)
          problem = fmt::format("integer {} is larger than 2^53", parsed.dump());
        else if (parsed.is_number_integer() && !parsed.is_number_unsigned() &&
                 parsed.get<i64>() < -static_cast<i64>(kMaxSafeInteger))
          problem = fmt::format("integer {} is smaller than -2^53", parsed.dump());
      }
      break;
    default: break;
    }
    return true;
  };
  json j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return make_error(where, "not valid JSON (or not valid UTF-8)");
  if (!problem.empty())
    return make_error(where, problem);
  return j;
}

static void put_string(std::string &out, const std::string &s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

static Expected<void> encode(std::string &out, const json &v, const std::string &path) {
  switch (v.type()) {
  case json::value_t::null: out += "null"; return {};
  case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return {};
  case json::value_t::number_integer: out += std::to_string(v.get<i64>()); return {};
  case json::value_t::number_unsigned: out += std::to_string(v.get<u64>()); return {};
  case json::value_t::string: put_string(out, v.get_ref<const std::string &>()); return {};
  case json::value_t::array: {
    out += '[';
    size_t i = 0;
    for (const json &e : v) {
      if (i)
        out += ',';
      if (auto r = encode(out, e, fmt::format("{}[{}]", path, i)); !r)
        return r;
      i++;
    }
    out += ']';
    return {};
  }
  case json::value_t::object: {
    // nlohmann::json's object_t is a std::map<std::string, ...>: iteration is already in
    // byte order of the keys, which is what securesystemslib sorts by (tuf-js sorts by UTF-16
    // code unit; the two agree unless astral characters meet U+E000..U+FFFF in one object).
    out += '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first)
        out += ',';
      first = false;
      put_string(out, it.key());
      out += ':';
      if (auto r = encode(out, it.value(), path + "." + it.key()); !r)
        return r;
    }
    out += '}';
    return {};
  }
  case json::value_t::number_float:
    return make_error(Location(), fmt::format("{}: floating-point number {} has no canonical form", path, v.dump()));
  case json::value_t::binary:
  case json::value_t::discarded: break;
  }
  return make_error(Location(), fmt::format("{}: value has no JSON form", path));
}

Expected<std::string> canonical(const json &value) {
  std::string out;
  if (auto r = encode(out, value, "$"); !r)
    return std::move(r).take_error();
  return out;
}

} // namespace kpg::tuf
