// SPDX-License-Identifier: GPL-2.0-only
//
// Symbol names as GCC and the kernel make them, decoded once.
//
// The same source function or variable can carry a different name in the original and the
// patched object only because of numbering that the patch did not mean to change:
//   - static locals get a per-translation-unit counter: `count.2` becomes `count.3` when the
//     patch adds a static local earlier in the file;
//   - IPA clones are numbered: `show_map.isra.0`, `do_foo.constprop.1`, `bar.part.0`;
//   - `__UNIQUE_ID_<prefix><counter>` (6.1 has no separator before the counter, e.g.
//     `__UNIQUE_ID_ddebug412.3`, `__UNIQUE_ID___addressable_cmdline_proc_show345`);
//   - `__BTF_ID__<kind>__<name>__<counter><line>` (`__BTF_ID__struct__bpf_htab__5532233`):
//     any line shift above a BTF_ID() renames it.
// The key keeps what identifies the entity (base name and the kinds of clone suffixes, which
// are different functions with different calling conventions: `foo` and `foo.isra.0` are
// not twins) and drops the numbers.
#pragma once
#include <string>
#include <string_view>

#include "support/types.h"

namespace kpg::diff {

struct DecodedName {
  std::string key;      // normalized: "count", "show_map.isra", "__UNIQUE_ID_ddebug", "__BTF_ID__struct__bpf_htab__", "foo.cold"
  // The source-level name: "count", "show_map", "foo". Always the start of `key`, so kept as
  // its length: a diff holds one of these per symbol of both objects (60,000 for a
  // 10,000-function unit), and a second string each was 2 MB.
  std::string_view base() const { return std::string_view(key).substr(0, base_len); }
  u32 base_len = 0;
  bool is_cold = false; // "foo.cold" / "foo.cold.12": the unlikely part of foo (not a function of its own)
  bool is_part = false; // "foo.part.0": an outlined part of foo (a real function with its own fentry)
  bool is_clone = false;     // has .isra/.constprop/.part/.lto_priv suffixes
  bool has_number = false;   // ended in a compiler-generated number (".N" or UNIQUE_ID digits)
};

DecodedName decode_name(std::string_view name);

// Static locals that must never be correlated with the running kernel's copy: each patched
// function gets a fresh one. They hold one-shot or debug state whose sharing would be wrong or
// pointless: WARN_ONCE's `__already_done`, `__warned`, lockdep's `__key`, printk_ratelimit's
// `_rs`, `__func__` strings, switch tables `CSWTCH`, dynamic debug `descriptor`, printk index
// `_entry`/`_entry_ptr`, `__print_once`, DO_ONCE()'s `___done`/`___once_key`, and the
// dynamic debug descriptors `__UNIQUE_ID_ddebug*`.
bool is_fresh_static(std::string_view base);

} // namespace kpg::diff
