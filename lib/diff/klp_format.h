// SPDX-License-Identifier: GPL-2.0-only
//
// The intermediate form of livepatch relocations inside a diff object, and the symbol names
// the module generator relies on.
//
// Livepatch relocations (.klp.rela.<obj>.<section> sections flagged SHF_RELA_LIVEPATCH,
// against SHN_LIVEPATCH symbols named .klp.sym.<obj>.<name>,<sympos>) cannot go through a
// linker: ld neither keeps a second relocation section per target nor knows SHN_LIVEPATCH. So
// the diff object carries them as a table the linker does relocate, and the post-link step
// (kpatch-gen's module builder) turns each record into a real livepatch relocation in the
// final .ko, then deletes the table. The same idea as kpatch's .kpatch.relocations and
// klp-build's __klp_relocs; the layout is our own.
//
// Section KLP_RELOCS_SECTION (SHT_PROGBITS, not allocated, align 8): an array of
//     struct { u64 place; u64 target; u32 type; u32 reserved; }   // 24 bytes
//   place:  R_X86_64_64 against the section symbol of the section holding the site, addend =
//           the site's offset (so it follows the section through ld -r);
//   target: R_X86_64_64 against the undefined weak symbol ".klp.sym.<obj>.<name>,<sympos>",
//           addend = the original relocation's addend;
//   type:   the original relocation type (R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32S, ...).
// The site's field is zero in the diff object (6.1's x86 apply_relocate_add() refuses to
// write a non-zero location).
//
// Shadow relocations (Options::objtool_at_link): each record's site also carries an ordinary
// relocation of the record's type against the same weak .klp.sym symbol and addend. With
// CONFIG_X86_KERNEL_IBT (the 6.12 lab, Debian's 6.12 cloud kernel), kbuild runs objtool on a
// module's linked object (delay-objtool in scripts/Makefile.lib), and objtool follows every
// call and jump: a tail call `jmp helper`
// whose relocation exists only in the table reads as a jump to the next instruction
// ("user+0x24: can't find jump dest instruction at .text.user+0x39"), and objtool then
// writes nothing for the whole module: no ORC (so no reliable stack traces through it), no
// .return_sites, no .call_sites. With the shadow it sees a call to an external symbol, as for
// any module. The post-link step deletes each shadow (the loader would resolve the weak
// symbol to 0 and write a non-zero field that the livepatch relocation then refuses), and
// drops objtool's .call_sites entries for those calls: call depth tracking's module patching
// runs before livepatch relocations are applied, would decode `call +0` and warn "Invalid
// padding area". Without IBT (Debian's 6.1) objtool runs per unit and never on a module's
// link: no shadows there.
//
// Global aliases (so that the generated module C code can name local functions):
//   "__kpg_new.<obj>.<old_name>.<sympos>"  the replacement for <old_name> in <obj>
//   "__kpg_cb.<obj>.<kind>"                a callback (pre_patch, post_patch, pre_unpatch, post_unpatch)
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "support/types.h"

namespace kpg::diff {

inline constexpr const char *KLP_RELOCS_SECTION = ".kpatch_gen.klp_relocs";
inline constexpr u64 KLP_RELOC_RECORD_SIZE = 24;
inline constexpr const char *KLP_SYM_PREFIX = ".klp.sym.";
inline constexpr const char *KLP_RELA_PREFIX = ".klp.rela.";

inline std::string klp_sym_name(const std::string &obj, const std::string &name, u64 sympos) {
  return std::string(KLP_SYM_PREFIX) + obj + "." + name + "," + std::to_string(sympos);
}
inline std::string new_func_alias(const std::string &obj, const std::string &name, u64 sympos) {
  return "__kpg_new." + obj + "." + name + "." + std::to_string(sympos);
}
// The four klp_callbacks of a klp_object (include/linux/livepatch.h), declared in patched
// source with KPG_{PRE,POST}_{PATCH,UNPATCH}_CALLBACK (templates/include/kpatch-gen.h).
enum class CallbackKind : u8 { PrePatch, PostPatch, PreUnpatch, PostUnpatch };
inline constexpr CallbackKind kAllCallbackKinds[] = {CallbackKind::PrePatch, CallbackKind::PostPatch,
                                                     CallbackKind::PreUnpatch, CallbackKind::PostUnpatch};

// "pre_patch", "post_patch", "pre_unpatch", "post_unpatch": the klp_callbacks field, the
// suffix of the section the author header puts the entry in, and the name in reports.
inline const char *callback_kind_name(CallbackKind k) {
  switch (k) {
  case CallbackKind::PrePatch: return "pre_patch";
  case CallbackKind::PostPatch: return "post_patch";
  case CallbackKind::PreUnpatch: return "pre_unpatch";
  case CallbackKind::PostUnpatch: return "post_unpatch";
  }
  return "?";
}

// The kind a section suffix such as "pre_patch" names, or nullopt.
inline std::optional<CallbackKind> callback_kind_from_name(std::string_view name) {
  for (CallbackKind k : kAllCallbackKinds)
    if (name == callback_kind_name(k))
      return k;
  return std::nullopt;
}

inline std::string callback_alias(const std::string &obj, CallbackKind kind) {
  return "__kpg_cb." + obj + "." + callback_kind_name(kind);
}

} // namespace kpg::diff
