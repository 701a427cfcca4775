// SPDX-License-Identifier: GPL-2.0-only
// Structural edits of a model that renumber ids (removing sections or symbols). Everything
// that refers to a removed item must be gone first; the functions check and say what still
// refers to it.
#pragma once
#include <functional>

#include "elf/model.h"
#include "support/error.h"

namespace kpg::elf {

// Removes the sections for which `drop` returns true, together with their STT_SECTION
// symbols and the relocations that apply to them. Fails (model unchanged) if a remaining
// symbol is defined in a dropped section or a remaining relocation/group/link refers to one.
Expected<void> remove_sections(ObjectFile &obj, const std::function<bool(SectionId)> &drop);

// Removes the symbols for which `drop` returns true (never the null symbol). Fails (model
// unchanged) if a relocation or a group signature still refers to one of them.
Expected<void> remove_symbols(ObjectFile &obj, const std::function<bool(SymbolId)> &drop);

} // namespace kpg::elf
