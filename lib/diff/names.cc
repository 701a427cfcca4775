// SPDX-License-Identifier: GPL-2.0-only
#include "diff/names.h"

#include <cctype>

namespace kpg::diff {

static bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

DecodedName decode_name(std::string_view name) {
  DecodedName d;
  // __UNIQUE_ID_<prefix><counter>, and gcc's ".<n>" after it when the symbol is a
  // function-scope static (the dynamic debug descriptor of a pr_debug() is
  // __UNIQUE_ID_ddebug412.3): strip both. Prefixes that end in a digit (rare) lose that digit
  // too, consistently on both sides, which is all the key needs.
  // __BTF_ID__<kind>__<name>__<counter><line> (BTF_ID(struct, bpf_htab) in a BTF_ID_LIST,
  // include/linux/btf_ids.h pastes __COUNTER__ and __LINE__): strip the digit run.
  for (std::string_view prefix : {std::string_view("__UNIQUE_ID_"), std::string_view("__BTF_ID__")}) {
    if (!name.starts_with(prefix))
      continue;
    size_t end = name.size();
    if (size_t dot = name.rfind('.'); dot != std::string_view::npos && all_digits(name.substr(dot + 1)))
      end = dot;
    while (end > prefix.size() && std::isdigit(static_cast<unsigned char>(name[end - 1])))
      end--;
    d.has_number = end != name.size();
    d.key = std::string(name.substr(0, end));
    d.base_len = static_cast<u32>(d.key.size());
    return d;
  }
  // Split on '.', drop numeric components, remember the clone kinds. ".L" labels and names
  // that start with '.' are kept verbatim (they are not C identifiers).
  if (name.empty() || name[0] == '.') {
    d.key = std::string(name);
    d.base_len = static_cast<u32>(d.key.size());
    return d;
  }
  size_t dot = name.find('.');
  d.key = std::string(name.substr(0, dot));
  d.base_len = static_cast<u32>(d.key.size());
  while (dot != std::string_view::npos) {
    size_t next = name.find('.', dot + 1);
    std::string_view part = name.substr(dot + 1, next == std::string_view::npos ? std::string_view::npos : next - dot - 1);
    if (all_digits(part)) {
      d.has_number = true;
    } else {
      d.key += '.';
      d.key += part;
      if (part == "cold")
        d.is_cold = true;
      else if (part == "part")
        d.is_part = d.is_clone = true;
      else if (part == "isra" || part == "constprop" || part == "lto_priv" || part == "localalias")
        d.is_clone = true;
    }
    dot = next;
  }
  return d;
}

bool is_fresh_static(std::string_view base) {
  static constexpr std::string_view names[] = {"__already_done", "__warned", "__key", "_rs", "__func__", "CSWTCH",
                                               "descriptor", "_entry", "_entry_ptr", "__print_once",
                                               "__UNIQUE_ID_ddebug", "___done", "___once_key"};
  for (std::string_view n : names)
    if (base == n)
      return true;
  return false;
}

} // namespace kpg::diff
