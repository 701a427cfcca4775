// SPDX-License-Identifier: GPL-2.0-only
//
// kp-dump: print an ELF object the way kpatch-gen sees it (the lib/elf model): sections,
// symbols with section names, cooked relocations with symbol names. Stable output, meant
// for tests and for debugging the diff ("what did the reader make of this file?").
#include <CLI/CLI.hpp>
#include <cstdio>

#include "elf/dump.h"
#include "elf/reader.h"
#include "elf/writer.h"

int main(int argc, char **argv) {
  CLI::App app{"kp-dump: print an ELF object as kpatch-gen's object model sees it.\n"
               "Exit codes: 0 ok, 1 unreadable or malformed input, 2 usage."};
  std::string input, roundtrip;
  bool contents = false, no_relocs = false;
  app.add_option("FILE", input, "ELF object, module or vmlinux")->required();
  app.add_flag("-x,--contents", contents, "also print section contents in hex");
  app.add_flag("--no-relocs", no_relocs, "do not print relocations");
  app.add_option("--roundtrip", roundtrip, "write the model back to this path (reader/writer check)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  kpg::elf::ReadOptions ro;
  auto obj = kpg::elf::read_object(input, ro);
  if (!obj) {
    std::fprintf(stderr, "kp-dump: %s\n", obj.error().str().c_str());
    return 1;
  }
  kpg::elf::DumpOptions d;
  d.contents = contents;
  d.relocations = !no_relocs;
  std::fputs(kpg::elf::dump(*obj, d).c_str(), stdout);
  if (!roundtrip.empty()) {
    if (auto w = kpg::elf::write_object(*obj, roundtrip); !w) {
      std::fprintf(stderr, "kp-dump: %s\n", w.error().str().c_str());
      return 1;
    }
  }
  return 0;
}
