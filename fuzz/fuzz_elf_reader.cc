// SPDX-License-Identifier: GPL-2.0-only
//
// libFuzzer target for lib/elf's reader, and through it the writer and dump().
//
// Properties checked on every input (a violation traps, so libFuzzer saves the input):
//  - the reader never crashes, whatever the bytes (ASan/UBSan watch lib/elf and lib/support);
//  - what the reader accepts, verify() accepts: the reader is the project's validator, and
//    the rest of the project trusts every index in the model it returns;
//  - when the writer writes the model, reading the result succeeds and gives an equal model
//    (same_content), i.e. read -> write -> read is lossless for everything the reader accepts.
// The writer may still refuse a model (e.g. an executable: it writes only ET_REL).
#include <cstdio>
#include <span>

#include "elf/dump.h"
#include "elf/reader.h"
#include "elf/writer.h"

namespace {

// The first difference between two models, field by field: dump() does not show every field
// (reloc_name, raw sh_info, st_other, ...), and a one-line answer makes a finding quick to triage.
std::string first_difference(const kpg::elf::ObjectFile &a, const kpg::elf::ObjectFile &b) {
  using namespace kpg::elf;
  if (!(a.header == b.header))
    return "header";
  if (a.sections.size() != b.sections.size())
    return "section count";
  for (SectionId id : a.sections.ids()) {
    const Section &x = a.sections[id], &y = b.sections[id];
    if (x == y)
      continue;
    std::string what = x.name != y.name             ? "name"
                       : x.type != y.type           ? "type"
                       : x.flags != y.flags         ? "flags"
                       : x.addr != y.addr           ? "addr"
                       : x.addralign != y.addralign ? "addralign"
                       : x.entsize != y.entsize     ? "entsize"
                       : x.data != y.data           ? "data"
                       : x.size != y.size           ? "size"
                       : x.relocs != y.relocs       ? "relocs"
                       : x.reloc_format != y.reloc_format ? "reloc_format"
                       : x.reloc_name != y.reloc_name     ? "reloc_name '" + x.reloc_name + "' vs '" + y.reloc_name + "'"
                       : x.reloc_flags != y.reloc_flags   ? "reloc_flags"
                       : x.link != y.link                 ? "link"
                       : x.info != y.info                 ? "info"
                                                          : "group";
    return "section " + std::to_string(kpg::to_index(id)) + " '" + x.name + "': " + what;
  }
  if (a.symbols.size() != b.symbols.size())
    return "symbol count";
  for (SymbolId id : a.symbols.ids())
    if (!(a.symbols[id] == b.symbols[id]))
      return "symbol " + std::to_string(kpg::to_index(id)) + " '" + a.symbols[id].name + "'";
  return "extra_relocs";
}

[[noreturn]] void fail(const char *what, const std::string &detail) {
  std::fprintf(stderr, "fuzz_elf_reader: %s\n%s\n", what, detail.c_str());
  __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace kpg::elf;
  std::span<const kpg::u8> image(data, size);

  // The partial reads take different paths (no relocations, no contents); they only must not crash.
  for (ReadOptions partial : {ReadOptions{.relocations = false}, ReadOptions{.section_data = false}})
    if (auto obj = read_object_from_memory("fuzz.o", image, partial))
      (void)dump(*obj);

  auto obj = read_object_from_memory("fuzz.o", image);
  if (!obj)
    return 0;
  (void)dump(*obj, DumpOptions{.contents = true});
  if (auto v = verify(*obj); !v)
    fail("verify() rejects a model the reader accepted", v.error().str());

  auto bytes = write_object_to_memory(*obj);
  if (!bytes)
    return 0;
  auto again = read_object_from_memory("fuzz.o (rewritten)", *bytes);
  if (!again)
    fail("the reader rejects the writer's output", again.error().str());
  if (!again->same_content(*obj))
    fail("read -> write -> read changed the model",
         first_difference(*obj, *again) + "\nbefore:\n" + dump(*obj) + "after:\n" + dump(*again));
  return 0;
}
