// SPDX-License-Identifier: GPL-2.0-only
//
// Post-link: turns the linked module into a livepatch module the 6.1 loader accepts.
//  - shadow relocations of the records (6.12, for objtool at the module's link) are deleted,
//    and so are objtool's .call_sites entries for calls through livepatch relocations;
//  - every record of the diff objects' livepatch relocation table (klp_format.h) becomes a
//    relocation in `.klp.rela.<obj>.<section>` (SHT_RELA, SHF_ALLOC | SHF_INFO_LINK |
//    SHF_RELA_LIVEPATCH, sh_info = the patched section) against `.klp.sym.<obj>.<name>,<pos>`,
//    which becomes an SHN_LIVEPATCH symbol; <obj> is the object that owns the symbol, so
//    vmlinux symbols are always in .klp.rela.vmlinux.* (6.1 refuses a vmlinux symbol in a
//    module-specific section);
//  - the table itself and the debug sections go (kbuild built the template with -g; the paths
//    in it would only make the module depend on where it was built);
//  - a non-allocated `.kpatch_gen.manifest` section records, as JSON, what the module patches
//    and for which kernel (`kpatch-gen inspect` reads it).
#pragma once
#include <string>

#include "elf/model.h"
#include "support/error.h"

namespace kpg::build {

inline constexpr const char *MANIFEST_SECTION = ".kpatch_gen.manifest";

struct PostLinkStats {
  size_t klp_relocs = 0;
  size_t klp_symbols = 0;
  size_t klp_sections = 0;
  size_t shadows_removed = 0;    // ordinary relocations that shadowed a record (6.12, klp_format.h)
  size_t call_sites_removed = 0; // .call_sites entries of calls through livepatch relocations
};

Expected<PostLinkStats> post_link(elf::ObjectFile &ko, const std::string &manifest_json);

} // namespace kpg::build
