// SPDX-License-Identifier: GPL-2.0-only
#include "builder/verify.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "diff/names.h"
#include "diff/special_sections.h"
#include "elf/sections.h"

namespace kpg::build {

std::vector<std::pair<std::string, std::string>> modinfo_all(const std::vector<u8> &bytes) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < bytes.size()) {
    size_t end = i;
    while (end < bytes.size() && bytes[end] != 0)
      end++;
    std::string kv(bytes.begin() + static_cast<long>(i), bytes.begin() + static_cast<long>(end));
    size_t eq = kv.find('=');
    if (eq != std::string::npos)
      out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    i = end + 1;
  }
  return out;
}

std::map<std::string, std::string> parse_modinfo(const std::vector<u8> &bytes) {
  std::map<std::string, std::string> m;
  for (auto &[k, v] : modinfo_all(bytes))
    m[k] = v;
  return m;
}

static bool contains_cstring(const std::vector<u8> &hay, const std::string &s) {
  std::string needle = s;
  needle.push_back('\0');
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

Expected<std::string> kernel_release(const std::string &vmlinux) {
  auto ro = elf::read_section_bytes(vmlinux, ".rodata");
  if (!ro)
    return std::move(ro).take_error();
  static const std::string banner = "Linux version ";
  auto it = std::search(ro->begin(), ro->end(), banner.begin(), banner.end());
  if (it == ro->end())
    return make_error(Location(vmlinux).with_section(".rodata"), "no 'Linux version' banner: is this a vmlinux?");
  auto start = it + static_cast<long>(banner.size());
  auto end = std::find_if(start, ro->end(), [](u8 c) { return c == ' ' || c == 0; });
  return std::string(start, end);
}

std::vector<std::string> verify_module(const VerifyInput &in) {
  std::vector<std::string> problems;
  const elf::ObjectFile &ko = *in.ko;
  auto mi = ko.find_section(".modinfo");
  if (!mi) {
    problems.push_back("the module has no .modinfo section");
    return problems;
  }
  auto info = parse_modinfo(ko.sections[*mi].data);
  if (info["livepatch"] != "Y")
    problems.push_back("modinfo lacks livepatch=Y");
  auto ro = elf::read_section_bytes(in.vmlinux, ".rodata");
  if (!ro)
    problems.push_back(ro.error().str());
  else if (!contains_cstring(*ro, info["vermagic"]))
    problems.push_back(fmt::format("vermagic '{}' is not the target's (not found in {} .rodata): the module was built "
                                   "for another kernel release or configuration",
                                   info["vermagic"], in.vmlinux));
  if (in.symvers) {
    if (auto v = ko.find_section("__versions")) {
      const auto &d = ko.sections[*v].data;
      for (size_t off = 0; off + 64 <= d.size(); off += 64) {
        u64 crc;
        std::memcpy(&crc, d.data() + off, 8);
        std::string name(reinterpret_cast<const char *>(d.data() + off + 8), strnlen(reinterpret_cast<const char *>(d.data() + off + 8), 56));
        const diff::SymversEntry *e = in.symvers->find(name);
        if (!e)
          problems.push_back(fmt::format("__versions lists '{}', which the target's Module.symvers does not export", name));
        else if (static_cast<u32>(crc) != e->crc)
          problems.push_back(fmt::format("CRC of '{}' is 0x{:08x}, the target's is 0x{:08x}: the kernel would refuse "
                                         "the module ('disagrees about version of symbol')",
                                         name, static_cast<u32>(crc), e->crc));
      }
    }
    for (const elf::Symbol &s : ko.symbols) {
      if (!s.is_undefined() || s.name.empty() || s.name.rfind(".klp.sym.", 0) == 0)
        continue;
      const diff::SymversEntry *e = in.symvers->find(s.name);
      if (!e)
        problems.push_back(fmt::format("undefined symbol '{}' is neither exported by the target nor resolved by a "
                                       "livepatch relocation (is it defined by a unit that was not part of the patch?)",
                                       s.name));
      else if (e->module != "vmlinux")
        problems.push_back(fmt::format("undefined symbol '{}' is exported by module {}: loading the patch would "
                                       "require that module",
                                       s.name, e->module));
    }
  }
  return problems;
}

// A function of the original object that the running kernel must still have, with the same
// size: everything sized except __init code (freed after boot) and __exit code (discarded
// from built-in objects).
static bool runtime_function(const elf::ObjectFile &orig, const elf::Symbol &s) {
  if (!s.is_func() || !s.section || s.size == 0)
    return false;
  const std::string &secname = orig.sections[*s.section].name;
  return !diff::is_init_section_name(secname) && !diff::is_exit_section_name(secname);
}

namespace {

// Where the original object's functions are in the target's symbol table: locals in the
// FILE block of this unit (or, in a stripped module, by name alone), globals by name.
class TargetLookup {
public:
  TargetLookup(const elf::ObjectFile &orig, const diff::TargetSymbols &target) : target_(target) {
    std::vector<std::string> locals;
    for (const elf::Symbol &s : orig.symbols) {
      if (s.is_file() && file_.empty())
        file_ = s.name;
      if (s.is_local() && (s.is_func() || s.is_object()) && s.section &&
          !diff::is_init_section_name(orig.sections[*s.section].name) && !s.name.starts_with("__UNIQUE_ID"))
        locals.push_back(s.name);
    }
    stripped_ = !target.has_file_symbols();
    if (!stripped_)
      block_ = target.find_block(file_, locals, &why_);
  }
  // Empty when a local cannot be looked up at all (no matching FILE block): why().
  bool usable() const { return stripped_ || block_; }
  const std::string &why() const { return why_; }

  std::optional<u32> find(const elf::Symbol &s) const {
    if (s.is_local() && stripped_) {
      // No FILE blocks (a stripped module): the name alone. Several same-named locals
      // (two units with a static `init_once`) pass when one of them has our size; the diff
      // refuses to guess should the patch need to reach one of them.
      std::vector<u32> cands;
      std::optional<u32> idx = target_.find_unique_local(s.name, diff::decode_name(s.name).key, &cands);
      for (u32 c : cands)
        if (target_.syms()[c].size == s.size)
          idx = c;
      if (!idx && !cands.empty())
        idx = cands.front();
      return idx;
    }
    if (s.is_local())
      return block_ ? target_.find_local(*block_, s.name, diff::decode_name(s.name).key) : std::nullopt;
    return target_.find_global(s.name);
  }

private:
  const diff::TargetSymbols &target_;
  std::string file_, why_;
  bool stripped_ = false;
  std::optional<u32> block_;
};

// A size difference: tolerated (appended to `tolerated`) when the code is the same, else
// appended to `sizes`.
void size_differs(const elf::Symbol &s, const std::string &target_size, std::optional<u32> idx, const SameCodeCheck &same_code,
                  std::vector<std::string> &sizes, std::vector<std::string> &tolerated) {
  std::string what = fmt::format("{} ({} bytes here, {} in the target", s.name, s.size, target_size);
  if (same_code && idx) {
    std::string why = same_code(s, *idx);
    if (why.empty()) {
      tolerated.push_back(what + ": the same instructions, a branch encoded in its short form in the target)");
      return;
    }
    sizes.push_back(what + ": " + why + ")");
    return;
  }
  sizes.push_back(what + ")");
}

} // namespace

OriginalCheck verify_original(const elf::ObjectFile &orig, const diff::TargetSymbols &target, const std::string &unit,
                              const SameCodeCheck &same_code) {
  OriginalCheck out;
  TargetLookup lookup(orig, target);
  std::vector<std::string> missing, sizes;
  for (const elf::Symbol &s : orig.symbols) {
    if (!runtime_function(orig, s))
      continue;
    if (s.is_local() && !lookup.usable()) {
      out.problems.push_back(fmt::format("{}: {}", unit, lookup.why()));
      return out;
    }
    std::optional<u32> idx = lookup.find(s);
    if (!idx) {
      missing.push_back(s.name);
      continue;
    }
    const diff::TargetSym &t = target.syms()[*idx];
    // A __weak definition overridden by a strong one elsewhere (fs/proc/meminfo.c's empty
    // arch_report_meminfo() vs arch/x86/mm/pat/set_memory.c's): the linker kept the other
    // symbol, so there is nothing of ours to compare.
    if (s.bind == STB_WEAK && t.size != s.size)
      continue;
    if (t.size != s.size)
      size_differs(s, std::to_string(t.size), idx, same_code, sizes, out.tolerated);
  }
  if (!sizes.empty())
    out.problems.push_back(fmt::format("{}: functions differ in size from the target kernel: {}. The original objects do "
                                       "not reproduce the running kernel (different compiler, flags, config or source)",
                                       unit, fmt::join(sizes, ", ")));
  if (!missing.empty())
    out.problems.push_back(fmt::format("{}: functions not in the target kernel: {} (not built into the target, or the "
                                       "target was built from another source)",
                                       unit, fmt::join(missing, ", ")));
  return out;
}

OriginalCheck verify_original_dwarf(const elf::ObjectFile &orig, const std::vector<DwarfFunction> &cu_functions,
                                    const diff::TargetSymbols &target, const std::string &unit,
                                    const SameCodeCheck &same_code) {
  std::multimap<std::string, u64, std::less<>> have;
  for (const DwarfFunction &f : cu_functions)
    have.emplace(f.name, f.size);
  std::optional<TargetLookup> lookup; // only when a size differs
  OriginalCheck out;
  std::vector<std::string> missing, sizes;
  for (const elf::Symbol &s : orig.symbols) {
    if (!runtime_function(orig, s))
      continue;
    diff::DecodedName n = diff::decode_name(s.name);
    if (n.is_cold)
      continue; // the unlikely part of a split function: DWARF lists the part with the entry
    auto [lo, hi] = have.equal_range(n.base());
    if (lo == hi) {
      if (!target.has_name(s.name))
        missing.push_back(s.name);
      continue;
    }
    bool same = false;
    std::vector<u64> seen;
    for (auto it = lo; it != hi; ++it) {
      same |= it->second == s.size;
      seen.push_back(it->second);
    }
    if (same || s.bind == STB_WEAK)
      continue;
    if (!lookup)
      lookup.emplace(orig, target);
    size_differs(s, fmt::format("{}", fmt::join(seen, "/")), lookup->find(s), same_code, sizes, out.tolerated);
  }
  if (!sizes.empty())
    out.problems.push_back(fmt::format("{}: functions differ in size from the target's DWARF: {}. The original objects do "
                                       "not reproduce the running kernel (different compiler, flags, config or source)",
                                       unit, fmt::join(sizes, ", ")));
  if (!missing.empty())
    out.problems.push_back(fmt::format("{}: functions neither the target's DWARF nor its symbol table has: {}", unit,
                                       fmt::join(missing, ", ")));
  return out;
}

} // namespace kpg::build
