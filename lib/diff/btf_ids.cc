// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: check_btf_ids, and the .BTF_ids helpers plan_relocations and build_output use
// (btf_ids.h explains the section).
//
// A live patch cannot change a BTF id list: the running kernel's words were written by
// resolve_btfids when vmlinux was linked, and patched code reaches them through the list
// label. So each list of the patched object must hold the same ids, in the same order, as the
// original's list of that name. The words' own names do not matter (they end in __COUNTER__
// and __LINE__ digits). Kfunc sets (BTF_SET8_START, e.g. bpf_task_fetch_pid_kfunc_ids in
// kernel/bpf/helpers.c, or the sets of net/netfilter/nf_conntrack_bpf.c) get their own
// message: they are registered with register_btf_kfunc_id_set() from an initcall, so even a
// flags change would never reach the verifier.
#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "diff/btf_ids.h"
#include "diff/passes.h"

namespace kpg::diff {

static std::optional<SectionId> btf_ids_section(const ObjectView &v) {
  for (const SpecialSection &spec : v.table())
    if (spec.name == BTF_IDS_SECTION) {
      const auto &secs = v.special_sections(spec);
      if (!secs.empty())
        return secs.front();
    }
  return std::nullopt;
}

static bool is_list_label(const ObjectView &v, SymbolId s) {
  return v.facts(s).role == SymRole::Label && !v.sym(s).name.starts_with("__BTF_ID__");
}

bool in_btf_ids(const ObjectView &v, const Target &t) {
  std::optional<SectionId> sec;
  if (t.kind == Target::Kind::Symbol)
    sec = v.sym(t.sym).section;
  else if (t.kind == Target::Kind::Anonymous || t.kind == Target::Kind::String)
    sec = t.sec;
  return sec && v.sec(*sec).name == BTF_IDS_SECTION;
}

std::optional<BtfIdsPlace> btf_ids_place(const ObjectView &v, const Target &t) {
  if (!in_btf_ids(v, t))
    return std::nullopt;
  SectionId sec = t.kind == Target::Kind::Symbol ? *v.sym(t.sym).section : t.sec;
  i64 pos = t.offset + (t.kind == Target::Kind::Symbol ? static_cast<i64>(v.sym(t.sym).value) : 0);
  std::optional<SymbolId> best;
  for (SymbolId s : v.symbols_in(sec)) { // by address, so the last label at or before pos wins
    if (static_cast<i64>(v.sym(s).value) > pos)
      break;
    if (is_list_label(v, s))
      best = s;
  }
  if (!best)
    return std::nullopt;
  return BtfIdsPlace{*best, static_cast<u64>(pos - static_cast<i64>(v.sym(*best).value))};
}

std::vector<BtfIdsList> btf_ids_lists(const ObjectView &v) {
  std::vector<BtfIdsList> lists;
  auto sec = btf_ids_section(v);
  if (!sec)
    return lists;
  const elf::Section &s = v.sec(*sec);
  const auto &syms = v.symbols_in(*sec);
  std::map<u64, std::string> ids;   // offset -> decoded name of the id's object
  std::map<u64, bool> set8_at;      // offsets of __BTF_ID__set8__* labels
  for (SymbolId x : syms) {
    const std::string &n = v.sym(x).name;
    if (v.facts(x).role == SymRole::Object && n.starts_with("__BTF_ID__"))
      ids.emplace(v.sym(x).value, v.facts(x).name.key);
    else if (n.starts_with("__BTF_ID__set8__"))
      set8_at[v.sym(x).value] = true;
  }
  std::vector<SymbolId> labels;
  for (SymbolId x : syms)
    if (is_list_label(v, x))
      labels.push_back(x);
  for (size_t k = 0; k < labels.size(); k++) {
    BtfIdsList l;
    l.label = labels[k];
    l.name = v.sym(labels[k]).name;
    u64 start = v.sym(labels[k]).value;
    u64 end = k + 1 < labels.size() ? v.sym(labels[k + 1]).value : s.size;
    l.kfunc_set = set8_at.count(start) != 0;
    for (u64 off = start; off + 4 <= end; off += 4) {
      if (auto it = ids.find(off); it != ids.end()) {
        l.words.push_back(it->second);
        continue;
      }
      u32 w = 0;
      if (!s.is_nobits() && off + 4 <= s.data.size())
        w = static_cast<u32>(s.data[off]) | static_cast<u32>(s.data[off + 1]) << 8 |
            static_cast<u32>(s.data[off + 2]) << 16 | static_cast<u32>(s.data[off + 3]) << 24;
      l.words.push_back(fmt::format("0x{:x}", w));
    }
    lists.push_back(std::move(l));
  }
  return lists;
}

std::string btf_id_display(const std::string &word) {
  std::string_view w = word;
  if (!w.starts_with("__BTF_ID__"))
    return word; // a raw word ("0x0": a set count or a kfunc's flags)
  w.remove_prefix(10);
  if (w.ends_with("__"))
    w.remove_suffix(2);
  size_t sep = w.find("__");
  if (sep == std::string_view::npos)
    return std::string(w);
  return fmt::format("{} {}", w.substr(0, sep), w.substr(sep + 2));
}

void check_btf_ids(DiffContext &ctx) {
  std::vector<BtfIdsList> olists = btf_ids_lists(*ctx.ov), plists = btf_ids_lists(*ctx.pv);
  std::map<std::string, const BtfIdsList *> orig;
  for (const BtfIdsList &l : olists)
    orig.emplace(l.name, &l);
  for (const BtfIdsList &l : plists) {
    auto it = orig.find(l.name);
    std::string what;
    if (it == orig.end()) {
      what = fmt::format("{} is new ({} words)", l.name, l.words.size());
    } else if (it->second->words != l.words) {
      const auto &ow = it->second->words;
      size_t k = 0;
      while (k < ow.size() && k < l.words.size() && ow[k] == l.words[k])
        k++;
      if (k < ow.size() && k < l.words.size())
        what = fmt::format("{} changed at word {}: {} -> {}", l.name, k, btf_id_display(ow[k]), btf_id_display(l.words[k]));
      else
        what = fmt::format("{} has {} words instead of {}", l.name, l.words.size(), ow.size());
    } else {
      continue;
    }
    Location loc = ctx.loc_patched(l.label);
    if (l.kfunc_set)
      ctx.refuse(code::BTF_IDS_CHANGED, loc,
                 fmt::format("kfunc set {}: kfunc sets are registered from an initcall "
                             "(register_btf_kfunc_id_set()), so a live patch cannot change which kfuncs BPF programs "
                             "may call or their flags. Leave the set as it is",
                             what));
    else
      ctx.refuse(code::BTF_IDS_CHANGED, loc,
                 fmt::format("BTF id list {}: resolve_btfids wrote the running kernel's ids when vmlinux was linked, "
                             "and patched code can only use those; a patch module's own .BTF_ids would hold ids of "
                             "its split BTF. Use the existing lists, or look the type up at run time "
                             "(btf_find_by_name_kind())",
                             what));
  }
}

} // namespace kpg::diff
