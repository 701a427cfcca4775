// SPDX-License-Identifier: GPL-2.0-only
//
// The running kernel as the diff sees it: a symbol table (from a vmlinux, a module .ko or an
// object standing in for one) and Module.symvers (what is exported, and by whom).
//
// Livepatch finds an old function by (object, name, sympos); sympos disambiguates duplicate
// names and must be computed exactly as the 6.1 kernel counts them:
//  - vmlinux: kallsyms_on_each_symbol() walks the address-sorted kallsyms table, so sympos is
//    the 1-based rank of our symbol's address among all same-named symbols (0 if unique);
//  - modules: module_kallsyms_on_each_symbol() walks the module's symbol table in file order
//    (livepatch modules keep it intact; target modules keep their core symbols in order), so
//    sympos is the rank in symtab order among same-named defined symbols.
// Which of several same-named locals is ours is decided by the FILE symbol block the target's
// symtab puts them in (the linker keeps each unit's locals together after its STT_FILE):
// the block named like our unit whose local names best match our object's.
//
// Distribution modules are shipped stripped (`strip --strip-debug` drops the STT_FILE
// symbols: every .ko of Debian's linux-image-* package), so there are no blocks. The builder
// prefers the unstripped copy of the -dbg package; without one, a local is resolved by its
// name alone when exactly one local of the module has it (find_unique_local), and refused,
// naming the candidates, when several do (nf_tables.ko links a dozen units, each may have a
// static `__nft_trace_packet`-like helper of the same name).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "elf/model.h"
#include "support/error.h"
#include "support/types.h"

namespace kpg::diff {

struct TargetSym {
  std::string name;
  u8 bind = 0, type = 0;
  u64 value = 0, size = 0;
  bool defined = false;
  bool init = false;        // in an .init.* section (not visible to livepatch after boot)
  u32 file_block = 0;       // index into blocks(); 0 = before any FILE symbol / globals
  u32 symtab_index = 0;
};

struct FileBlock {
  std::string file;         // STT_FILE name, e.g. "cmdline.c"
  u32 first = 0, last = 0;  // [first, last) indices into syms()
};

class TargetSymbols {
public:
  static Expected<TargetSymbols> load(const std::string &path);
  // The same from an object already in memory (load() reads the file, then this; unit tests
  // build the running kernel's symtab by hand). path() is the object's path.
  static TargetSymbols from_object(const elf::ObjectFile &obj);

  const std::string &path() const { return path_; }
  bool is_linked_kernel() const { return linked_; } // ET_EXEC (vmlinux) vs ET_REL (.ko/.o)
  const std::vector<TargetSym> &syms() const { return syms_; }
  const std::vector<FileBlock> &blocks() const { return blocks_; }
  // false for a stripped module: no STT_FILE symbols, locals cannot be told apart by unit.
  bool has_file_symbols() const { return blocks_.size() > 1; }
  // The kernel release the target was built as, as it says itself: a module's vermagic
  // (`.modinfo` "vermagic=6.12.118+deb12-cloud-amd64 SMP mod_unload modversions "), a vmlinux's
  // linux_banner ("Linux version 6.1.0-57-cloud-amd64 (debian-kernel@...) ..."): the first
  // word. Empty when it says nothing (an object standing in for the kernel, a stripped
  // vmlinux). Read by load(); from_object() reads it when the model has section contents.
  const std::string &release() const { return release_; }

  // The FILE block that best matches a unit (file name + its local function/object names).
  // Returns nullopt and fills `why` when there is no match or a tie.
  std::optional<u32> find_block(const std::string &file, const std::vector<std::string> &local_names,
                                std::string *why) const;

  // Index of a defined symbol: locals are searched in `block` (exact name, then the same
  // decoded key for renumbered statics); globals anywhere.
  std::optional<u32> find_local(u32 block, const std::string &name, const std::string &key) const;
  std::optional<u32> find_global(const std::string &name) const;
  // Without FILE blocks: the one defined local of the whole table with this exact name (or,
  // when none has it, with the same decoded key). When several match, returns nullopt and
  // fills `candidates` with their indices; when none does, `candidates` stays empty.
  std::optional<u32> find_unique_local(const std::string &name, const std::string &key,
                                       std::vector<u32> *candidates) const;
  bool has_name(const std::string &name) const { return by_name_.count(name) != 0; }

  // sympos of syms()[idx] as the 6.1 kernel counts it (see above). 0 when the name is unique.
  u64 sympos(u32 idx) const;

private:
  std::string path_;
  std::string release_;
  bool linked_ = false;
  std::vector<TargetSym> syms_;
  std::vector<FileBlock> blocks_;
  std::unordered_map<std::string, std::vector<u32>> by_name_;
};

// Why two symbol tables are not the same build ignoring STT_FILE symbols (the shipped,
// stripped module and the -dbg package's unstripped copy must list the same symbols with the
// same values, sizes and order: sympos is counted in the shipped one), or "" when they are.
std::string symbol_tables_differ(const TargetSymbols &a, const TargetSymbols &b);

struct SymversEntry {
  u32 crc = 0;
  std::string module;     // "vmlinux" or the module path as kbuild writes it (e.g. "fs/binfmt_misc")
  std::string export_type;
  std::string ns;
};

class Symvers {
public:
  static Expected<Symvers> load(const std::string &path);
  // Module.symvers text (load() reads the file, then this); `path` names it in errors.
  static Expected<Symvers> parse(const std::string &text, const std::string &path);
  const std::string &path() const { return path_; }
  const SymversEntry *find(const std::string &sym) const;
  const std::unordered_map<std::string, SymversEntry> &all() const { return map_; }

private:
  std::string path_;
  std::unordered_map<std::string, SymversEntry> map_;
};

// genksyms CRCs from the `#SYMVER <name> 0x<crc>` lines that kbuild (6.1, CONFIG_MODVERSIONS)
// appends to a unit's .cmd file when the unit exports symbols; other lines are ignored, so
// the .cmd file itself can be passed. A malformed #SYMVER line is an error naming its line.
Expected<std::map<std::string, u32>> parse_symver_crcs(const std::string &text, const std::string &path);
Expected<std::map<std::string, u32>> read_symver_crcs(const std::string &path);

// The running kernel as one diff needs it, loaded by the caller: the builder diffs many units
// against one kernel and reads each part of it once (a Debian debug vmlinux is 600 MB; its
// Module.symvers has 30k lines). Any part may be missing (null).
struct TargetKernel {
  // The object the unit is linked into (vmlinux or the module), or one standing for it.
  const TargetSymbols *symbols = nullptr;
  const Symvers *symvers = nullptr;
  // Special-section entry sizes from the target's DWARF (struct name -> bytes); null: read
  // from `symbols`' file when the diff needs them.
  const std::map<std::string, u64> *struct_sizes = nullptr;
};

// Module name as livepatch and kallsyms know it: basename without .ko, '-' -> '_'.
std::string module_objname(const std::string &module_path);

} // namespace kpg::diff
