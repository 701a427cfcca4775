// SPDX-License-Identifier: GPL-2.0-only
//
// author_markers.cc -- what a patch author asked for with kpatch's markers
// (templates/include/kpatch-macros.h): each macro puts a pointer into a .kpatch_gen.* section
// of the patched object, which the diff reads here and never copies.
//
//   .kpatch_gen.ignore.functions   KPATCH_IGNORE_FUNCTION(fn): fn counts as unchanged. kpatch
//                                  patches use it for functions whose change is harmless or
//                                  handled otherwise, e.g. a caller whose only change is a
//                                  WARN_ON() __LINE__ that kpatch-gen would not have seen
//                                  through on an older kernel.
//   .kpatch_gen.ignore.sections    KPATCH_IGNORE_SECTION("name"): the functions and data of
//                                  section `name` count as unchanged, and a table of that name
//                                  is dropped instead of refused (kpatch's own syscall header
//                                  used it for __syscalls_metadata and _ftrace_events).
//   .kpatch_gen.force_unsafe       KPATCH_FORCE_UNSAFE(fn): refused (FORCE_UNSAFE). kpatch's
//                                  deprecated core module skipped the "is fn on a stack" check
//                                  for fn; the kernel's livepatch consistency model switches
//                                  each task at a safe point and has no such override.
#include <fmt/format.h>

#include "diff/passes.h"
#include "diff/special_sections.h"

namespace kpg::diff {

namespace {

// The NUL-terminated string a marker points at (the section name of KPATCH_IGNORE_SECTION).
std::optional<std::string> string_at(const ObjectView &pv, const Target &t) {
  const elf::Section *s = nullptr;
  u64 off = 0;
  if (t.kind == Target::Kind::String || t.kind == Target::Kind::Anonymous) {
    s = &pv.sec(t.sec);
    off = static_cast<u64>(t.offset);
  } else if (t.kind == Target::Kind::Symbol && pv.sym(t.sym).section) {
    s = &pv.sec(*pv.sym(t.sym).section);
    off = pv.sym(t.sym).value + static_cast<u64>(t.offset);
  }
  if (!s || off >= s->data.size())
    return std::nullopt;
  std::string out;
  for (u64 i = off; i < s->data.size() && s->data[i]; i++)
    out += static_cast<char>(s->data[i]);
  return out;
}

// Turns a changed function or object back to Same; says so in the report.
void ignore_change(DiffContext &ctx, SymbolId p, const std::string &why) {
  auto ch = ctx.changes.patched.get(p);
  if (!ch || ch->status != Status::Changed) {
    ctx.notes.push_back(fmt::format("{}: {} did not change; nothing to ignore", why, ctx.pv->name(p)));
    return;
  }
  SymbolChange same = *ch;
  same.status = Status::Same;
  same.diff.reset();
  ctx.changes.patched.set(p, std::move(same));
  ctx.notes.push_back(fmt::format("{}: the change to {} is ignored, as the patch author asked", why, ctx.pv->name(p)));
}

} // namespace

void apply_author_markers(DiffContext &ctx) {
  const ObjectView &pv = *ctx.pv;
  Location file(pv.obj().path);
  for (SectionId sid : pv.obj().sections.ids()) {
    const elf::Section &s = pv.sec(sid);
    bool ignore_fn = s.name == ".kpatch_gen.ignore.functions", force = s.name == ".kpatch_gen.force_unsafe";
    bool ignore_sec = s.name == ".kpatch_gen.ignore.sections";
    if (!ignore_fn && !force && !ignore_sec)
      continue;
    for (const elf::Reloc &r : pv.relocs_of(sid)) {
      Target t = pv.resolve(sid, r);
      if (ignore_sec) {
        auto name = string_at(pv, t);
        if (!name || name->empty()) {
          ctx.diag.warn(file.with_section(s.name, r.offset),
                        "KPATCH_IGNORE_SECTION() needs a string literal naming a section; marker ignored");
          continue;
        }
        ctx.ignored_sections.insert(*name);
        continue;
      }
      const char *macro = ignore_fn ? "KPATCH_IGNORE_FUNCTION" : "KPATCH_FORCE_UNSAFE";
      if (t.kind != Target::Kind::Symbol || pv.facts(t.sym).role != SymRole::Function || t.offset != 0) {
        ctx.diag.warn(file.with_section(s.name, r.offset),
                      fmt::format("{}() does not name a function defined in this file; marker ignored", macro));
        continue;
      }
      std::string fn = pv.name(t.sym);
      if (force) {
        ctx.refuse(code::FORCE_UNSAFE, ctx.loc_patched(t.sym),
                   fmt::format("KPATCH_FORCE_UNSAFE({}): kpatch's old core module skipped its safety check for {}; "
                               "the kernel's livepatch consistency model switches every task at a point where no "
                               "patched function is on its stack and has no way to skip that. Remove the macro; "
                               "if {} never leaves some task's stack (a kthread's main loop), patch the functions "
                               "it calls instead, or change its behaviour from a callback",
                               fn, fn, fn));
        continue;
      }
      ignore_change(ctx, t.sym, fmt::format("KPATCH_IGNORE_FUNCTION({})", fn));
    }
  }
  if (ctx.ignored_sections.empty())
    return;
  std::vector<std::string> unmatched(ctx.ignored_sections.begin(), ctx.ignored_sections.end());
  for (SymbolId p : pv.obj().symbols.ids()) {
    const elf::Symbol &sym = pv.sym(p);
    if (!sym.section)
      continue;
    const std::string &sec = pv.sec(*sym.section).name;
    if (!ctx.ignored_sections.count(sec))
      continue;
    std::erase(unmatched, sec);
    auto ch = ctx.changes.patched.get(p);
    if (ch && ch->status == Status::Changed)
      ignore_change(ctx, p, fmt::format("KPATCH_IGNORE_SECTION(\"{}\")", sec));
  }
  for (const std::string &sec : unmatched) {
    bool exists = false;
    for (SectionId sid : pv.obj().sections.ids())
      exists |= pv.sec(sid).name == sec;
    if (exists)
      ctx.notes.push_back(fmt::format("KPATCH_IGNORE_SECTION(\"{}\"): the table is dropped, not checked", sec));
    else
      ctx.notes.push_back(fmt::format("KPATCH_IGNORE_SECTION(\"{}\"): no such section in this object", sec));
  }
}

} // namespace kpg::diff
