// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: validate_special_sections. A wrong entry size silently mis-groups every entry after
// the first (kpatch learnt this the hard way: its sizes came from environment variables set by
// a gawk script over `readelf -wi`). Here each table is checked against its relocation
// pattern: the section must be a whole number of entries and every entry must carry the
// relocation that names its owner, e.g. __bug_table entries with CONFIG_DEBUG_BUGVERBOSE are 12
// bytes with an R_X86_64_PC32 at +0; read with 8-byte entries, entry 1 would start at +8 where
// there is no relocation.
//
// A table that does not fit is not refused here: its entries cannot be told apart, which only
// matters if one of them belongs to code the patch carries, or if the table differs between
// the two objects. An object from another kernel (another struct static_call_site, another
// bug_entry) often has such a table next to an unrelated changed function. The problem is
// recorded (ctx.bad_special), the table is left out of the entry index, and
// select_special_entries refuses it (BAD_SPECIAL_SECTION) or drops it with a note.
#include <fmt/format.h>

#include "diff/passes.h"

namespace kpg::diff {

static void bad(DiffContext &ctx, const SpecialSection &spec, Location loc, std::string problem) {
  ctx.bad_special.try_emplace(spec.name, BadSpecialSection{std::move(loc), std::move(problem), false});
}

// A table of entries of different sizes (6.12's .export_symbol): each must start at a label,
// the first at offset 0, and hold exactly one relocation, the pointer to what it describes
// (kernel/fork.o: __export_symbol_free_task at +0, its R_X86_64_64 free_task at +8).
static void validate_labelled(DiffContext &ctx, const ObjectView &v, const SpecialSection &spec, SectionId sid) {
  const elf::Section &s = v.sec(sid);
  auto entries = labelled_entries(v, spec, sid);
  if (s.size == 0)
    return;
  if (entries.empty() || entries.front().start != 0) {
    bad(ctx, spec, Location(v.obj().path).with_section(s.name),
        fmt::format("its entries are found by their {}* labels, and {}", spec.entry_label,
                    entries.empty() ? "there is none" : "the first is not at offset 0"));
    return;
  }
  for (const LabelledEntry &e : entries) {
    size_t n = v.relocs_in(sid, e.start, e.end).size();
    if (n != 1) {
      bad(ctx, spec, Location(v.obj().path).with_section(s.name, e.start),
          fmt::format("entry {} has {} relocations, expected one (the exported symbol)", v.sym(*e.label).name, n));
      return;
    }
  }
}

static void validate_one(DiffContext &ctx, const ObjectView &v, const SpecialSection &spec, SectionId sid) {
  if (!spec.entry_label.empty())
    return validate_labelled(ctx, v, spec, sid);
  const elf::Section &s = v.sec(sid);
  u64 entsize = ctx.entry_sizes[spec.name].size;
  const char *src = size_source_name(ctx.entry_sizes[spec.name].source);
  Location loc = Location(v.obj().path).with_section(s.name);
  if (entsize == 0 || s.size % entsize != 0) {
    bad(ctx, spec, loc,
        fmt::format("size 0x{:x} is not a multiple of the entry size {} ({}); if this object comes from another "
                    "kernel, pass --entry-size {}=BYTES",
                    s.size, entsize, src, spec.name));
    return;
  }
  if (!spec.has_owner)
    return;
  auto relocs = v.relocs_of(sid);
  size_t ri = 0;
  for (u64 off = 0; off < s.size; off += entsize) {
    u64 want = off + spec.owner_offset;
    while (ri < relocs.size() && relocs[ri].offset < want)
      ri++;
    if (ri >= relocs.size() || relocs[ri].offset != want) {
      bad(ctx, spec, Location(v.obj().path).with_section(s.name, off),
          fmt::format("entry {} has no relocation at its owner field (+{}): the entry size {} ({}) does not fit "
                      "this object; pass --entry-size {}=BYTES",
                      off / entsize, spec.owner_offset, entsize, src, spec.name));
      return;
    }
  }
  // struct alt_instr: the replacement [repl, repl + replacementlen) must lie inside
  // .altinstr_replacement; the output copies exactly those bytes, and compare() reads them.
  if (spec.repl_offset && spec.repl_len_offset && *spec.repl_len_offset < entsize) {
    for (u64 off = 0; off < s.size; off += entsize) {
      auto rr = v.relocs_in(sid, off + *spec.repl_offset, off + *spec.repl_offset + 4);
      if (rr.empty())
        continue;
      Target t = v.resolve(sid, rr[0]);
      std::optional<SectionId> tsec;
      i64 toff = t.offset;
      if (t.kind == Target::Kind::Anonymous || t.kind == Target::Kind::String) {
        tsec = t.sec;
      } else if (t.kind == Target::Kind::Symbol) {
        tsec = v.sym(t.sym).section;
        toff += static_cast<i64>(v.sym(t.sym).value);
      }
      u64 len = s.data.size() > off + *spec.repl_len_offset ? s.data[off + *spec.repl_len_offset] : 0;
      if (!tsec || v.sec(*tsec).name != spec.aux_section || toff < 0 ||
          static_cast<u64>(toff) + len > v.sec(*tsec).size) {
        bad(ctx, spec, Location(v.obj().path).with_section(spec.name, off),
            fmt::format("entry {}: its replacement ({} bytes at {}) is not inside {}", off / entsize, len,
                        v.describe(t), spec.aux_section));
        return;
      }
    }
  }
  if (!spec.aux_section.empty() && spec.aux_entry_size) {
    auto aux = v.find_section(spec.aux_section);
    u64 auxsize = ctx.entry_sizes[spec.aux_section].size;
    u64 n = s.size / entsize;
    if (!aux || auxsize == 0 || v.sec(*aux).size != n * auxsize)
      bad(ctx, spec, Location(v.obj().path).with_section(spec.aux_section),
          fmt::format("expected {} entries of {} bytes to match the {} entries of {}, found size 0x{:x}", n,
                      auxsize, n, spec.name, aux ? v.sec(*aux).size : 0));
  }
}

void validate_special_sections(DiffContext &ctx) {
  for (const SpecialSection &spec : ctx.ov->table()) {
    if (spec.policy == SpecialPolicy::Refuse)
      continue; // refused as a whole when it matters (select_special_entries)
    for (const ObjectView *v : {ctx.ov.get(), ctx.pv.get()})
      for (SectionId sid : v->special_sections(spec))
        validate_one(ctx, *v, spec, sid);
  }
}

} // namespace kpg::diff
