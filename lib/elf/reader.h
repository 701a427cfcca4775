// SPDX-License-Identifier: GPL-2.0-only
// Reading an ELF64 file into the owned model (see model.h). The only place besides
// writer.cc that talks to libelf.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
};

// Reads `path`. Malformed input gives an Error naming the file and the offending
// section/symbol; it never crashes (the reader is fuzzed).
Expected<ObjectFile> read_object(const std::string &path, const ReadOptions &opts = {});

// Same, from memory; `name` is used in messages.
Expected<ObjectFile> read_object_from_memory(const std::string &name, std::span<const u8> image,
                                             const ReadOptions &opts = {});

// The .debug_* sections that a read of `model.path` with `debug_contents = false` left empty
// (those `wanted` accepts, when given), each as a full read makes it (contents, relocations),
// with its id in `model`. For the diff's second look at a file, when it turns out to need
// DWARF: it has the code, the symbols and every other section already, and rebuilding them (a
// 10,000-function unit: 20,000 sections, 30,000 symbols) cost as much as the first read. The
// caller swaps these into its model and back out when it is done. An Error if the file no
// longer matches the model (sections added, renamed or resized since the first read).
Expected<std::vector<std::pair<SectionId, Section>>> read_debug_sections(const ObjectFile &model,
                                                                         bool (*wanted)(std::string_view) = nullptr);

} // namespace kpg::elf
