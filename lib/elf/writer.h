// SPDX-License-Identifier: GPL-2.0-only
// Writing the model back to an ELF file (see model.h). The only place besides reader.cc
// that talks to libelf.
#pragma once
#include <string>
#include <vector>

#include "elf/model.h"
#include "support/error.h"

namespace kpg::elf {

// Checks the model's internal references (what the writer relies on): every relocation's
// symbol exists and its offset lies inside its section, every symbol's section exists,
// groups name existing sections and symbols, links name existing sections.
Expected<void> verify(const ObjectFile &obj);

// Produces the bytes of the file. Deterministic: the same model gives the same bytes.
// Layout: the model's sections in id order, each followed by its relocation section(s),
// then .symtab, .symtab_shndx (only when more than 0xff00 sections), .strtab, .shstrtab --
// the order GNU as and ld -r use, so a round trip of their output keeps section indices.
Expected<std::vector<u8>> write_object_to_memory(const ObjectFile &obj);

// Writes atomically (temporary file + rename): a failure never leaves a partial file.
Expected<void> write_object(const ObjectFile &obj, const std::string &path);

} // namespace kpg::elf
