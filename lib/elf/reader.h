// SPDX-License-Identifier: GPL-2.0-only
// Reading an ELF64 file into the owned model (see model.h). The only place besides
// writer.cc that talks to libelf.
#pragma once
#include <span>
#include <string>

#include "elf/model.h"
#include "support/error.h"

namespace kpg::elf {

struct ReadOptions {
  // Skip relocation sections entirely (reading a vmlinux only for its symbol table, where
  // --emit-relocs can add millions of entries we never look at).
  bool relocations = true;
  // Skip section contents (sizes are still known). For symbol-table-only reads.
  bool section_data = true;
  // Skip the contents and relocations of .debug_* sections (sizes are still known, section ids
  // are the same as in a full read). Debug info is half of a kernel object and most of its
  // relocations; the diff reads it only when it needs DWARF.
  bool debug_contents = true;
  // Skip the contents and relocations of every section that is not .debug_* (the symbol table
  // is still read). For a second read that only wants DWARF: the diff has already read the
  // code, and copying it again would cost as much as the first read.
  bool code_contents = true;
};

// Reads `path`. Malformed input gives an Error naming the file and the offending
// section/symbol; it never crashes (the reader is fuzzed).
Expected<ObjectFile> read_object(const std::string &path, const ReadOptions &opts = {});

// Same, from memory; `name` is used in messages.
Expected<ObjectFile> read_object_from_memory(const std::string &name, std::span<const u8> image,
                                             const ReadOptions &opts = {});

} // namespace kpg::elf
