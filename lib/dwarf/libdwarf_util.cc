// SPDX-License-Identifier: GPL-2.0-only
#include "dwarf/libdwarf_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace kpg::dwarf::detail {

Error Ctx::error(Dwarf_Error e, const char *section, const std::string &what) const {
  std::string msg = what;
  if (e) {
    const char *m = dwarf_errmsg(e);
    msg += ": ";
    msg += m ? m : "unknown libdwarf error";
    dwarf_dealloc_error(dbg_, e);
  }
  return make_error(Location(file_).with_section(section), std::move(msg));
}

Error Ctx::error(const char *section, const std::string &what) const {
  return make_error(Location(file_).with_section(section), what);
}

Expected<std::optional<std::string>> Ctx::name(Dwarf_Die die) const {
  char *s = nullptr;
  Dwarf_Error e = nullptr;
  int rc = dwarf_diename(die, &s, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return std::optional<std::string>();
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read DW_AT_name");
  return std::optional<std::string>(s ? s : "");
}

namespace {
// Looks up `attr` on `die`; fills `out` (to be dwarf_dealloc_attribute()d) when present.
int get_attr(Dwarf_Die die, Dwarf_Half attr, Dwarf_Attribute *out, Dwarf_Error *e) {
  Dwarf_Bool has = false;
  int rc = dwarf_hasattr(die, attr, &has, e);
  if (rc != DW_DLV_OK)
    return rc;
  if (!has)
    return DW_DLV_NO_ENTRY;
  return dwarf_attr(die, attr, out, e);
}

struct Attr {
  Dwarf_Attribute a = nullptr;
  ~Attr() {
    if (a)
      dwarf_dealloc_attribute(a);
  }
};

std::string attr_label(Dwarf_Half attr) {
  const char *n = nullptr;
  if (dwarf_get_AT_name(attr, &n) == DW_DLV_OK && n)
    return n;
  return fmt::format("attribute 0x{:x}", attr);
}
} // namespace

Expected<std::optional<std::string>> Ctx::string_attr(Dwarf_Die die, Dwarf_Half attr) const {
  Attr a;
  Dwarf_Error e = nullptr;
  int rc = get_attr(die, attr, &a.a, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return std::optional<std::string>();
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr));
  char *s = nullptr;
  rc = dwarf_formstring(a.a, &s, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return std::optional<std::string>();
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr));
  return std::optional<std::string>(s ? s : "");
}

Expected<std::optional<u64>> Ctx::udata_attr(Dwarf_Die die, Dwarf_Half attr) const {
  Attr a;
  Dwarf_Error e = nullptr;
  int rc = get_attr(die, attr, &a.a, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return std::optional<u64>();
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr));
  Dwarf_Half form = 0;
  if (dwarf_whatform(a.a, &form, &e) != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read the form of " + attr_label(attr));
  if (form == DW_FORM_implicit_const) {
    // DWARF 5: the value lives in the abbreviation. GCC uses it for DW_AT_call_file and
    // DW_AT_decl_file when many DIEs share a file; libdwarf 20210528's dwarf_formudata()
    // rejects the form, dwarf_formsdata() reads it.
    Dwarf_Signed sv = 0;
    rc = dwarf_formsdata(a.a, &sv, &e);
    if (rc != DW_DLV_OK)
      return error(e, ".debug_info", "cannot read " + attr_label(attr) + " as a constant");
    if (sv < 0)
      return error(".debug_info", fmt::format("{} is negative ({})", attr_label(attr), sv));
    return std::optional<u64>(static_cast<u64>(sv));
  }
  Dwarf_Unsigned v = 0;
  rc = dwarf_formudata(a.a, &v, &e);
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr) + " as a constant");
  return std::optional<u64>(v);
}

Expected<bool> Ctx::flag_attr(Dwarf_Die die, Dwarf_Half attr) const {
  Attr a;
  Dwarf_Error e = nullptr;
  int rc = get_attr(die, attr, &a.a, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return false;
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr));
  Dwarf_Bool v = false;
  rc = dwarf_formflag(a.a, &v, &e);
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr) + " as a flag");
  return v != 0;
}

Expected<std::optional<Dwarf_Off>> Ctx::ref_attr(Dwarf_Die die, Dwarf_Half attr) const {
  Attr a;
  Dwarf_Error e = nullptr;
  int rc = get_attr(die, attr, &a.a, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return std::optional<Dwarf_Off>();
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr));
  Dwarf_Off off = 0;
  rc = dwarf_global_formref(a.a, &off, &e);
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", "cannot read " + attr_label(attr) + " as a reference");
  return std::optional<Dwarf_Off>(off);
}

Expected<Die> Ctx::die_at(Dwarf_Off off) const {
  Dwarf_Die d = nullptr;
  Dwarf_Error e = nullptr;
  int rc = dwarf_offdie_b(dbg_, off, true, &d, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return error(".debug_info", fmt::format("no DIE at offset 0x{:x}", off));
  if (rc != DW_DLV_OK)
    return error(e, ".debug_info", fmt::format("cannot read the DIE at offset 0x{:x}", off));
  return Die(d);
}

Debug::~Debug() {
  if (d_) {
    Dwarf_Error e = nullptr;
    if (kind_ == Kind::File)
      dwarf_finish(d_, &e);
    else
      dwarf_object_finish(d_, &e);
    // A failing finish leaves nothing for us to do; its error dies with the Dwarf_Debug.
  }
  if (fd_ >= 0)
    close(fd_);
}

std::mutex &init_mutex() {
  static std::mutex m;
  // Once per process, before the first Dwarf_Debug exists: stop libdwarf from recording every
  // DIE/attribute/error it hands out in a search tree (kept so that dwarf_finish() can free
  // what the caller forgot). That bookkeeping was 3/4 of ObjectDebugInfo::load() time on a
  // 5,000-function object. Everything lib/dwarf obtains is freed through RAII (Die, Attr,
  // LineContext, ranges, rnglists heads, errors), which the valgrind run of dwarf_test checks.
  // The flag is global and must not change while a Dwarf_Debug is open (objects allocated
  // while tracking would be freed untracked); libdwarf is used nowhere else in kpatch-gen.
  static const bool untracked = [] {
    dwarf_set_de_alloc_flag(0);
    return true;
  }();
  (void)untracked;
  return m;
}

Expected<Debug> open_file(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(Location(path), fmt::format("cannot open: {}", std::strerror(errno)));
  Dwarf_Debug dbg = nullptr;
  Dwarf_Error e = nullptr;
  int rc = DW_DLV_ERROR;
  {
    std::lock_guard lock(init_mutex());
    rc = dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, nullptr, nullptr, &dbg, &e);
  }
  if (rc == DW_DLV_NO_ENTRY) {
    close(fd);
    return make_error(Location(path), "no DWARF debug information (built without CONFIG_DEBUG_INFO or -g?)");
  }
  if (rc != DW_DLV_OK) {
    std::string msg = e && dwarf_errmsg(e) ? dwarf_errmsg(e) : "unknown libdwarf error";
    // Errors from a failed init are not tied to a Dwarf_Debug; libdwarf accepts a null dbg.
    if (e)
      dwarf_dealloc_error(dbg, e);
    close(fd);
    return make_error(Location(path), "cannot read DWARF: " + msg);
  }
  return Debug(dbg, Debug::Kind::File, fd);
}

Expected<Dwarf_Off> die_offset(const Ctx &ctx, Dwarf_Die die) {
  Dwarf_Off off = 0;
  Dwarf_Error e = nullptr;
  if (dwarf_dieoffset(die, &off, &e) != DW_DLV_OK)
    return ctx.error(e, ".debug_info", "cannot read a DIE offset");
  return off;
}

Expected<Dwarf_Half> die_tag(const Ctx &ctx, Dwarf_Die die) {
  Dwarf_Half tag = 0;
  Dwarf_Error e = nullptr;
  if (dwarf_tag(die, &tag, &e) != DW_DLV_OK)
    return ctx.error(e, ".debug_info", "cannot read a DIE tag");
  return tag;
}

Expected<Die> first_child(const Ctx &ctx, Dwarf_Die die) {
  Dwarf_Die c = nullptr;
  Dwarf_Error e = nullptr;
  int rc = dwarf_child(die, &c, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return Die();
  if (rc != DW_DLV_OK)
    return ctx.error(e, ".debug_info", "cannot read a child DIE");
  return Die(c);
}

Expected<Die> next_sibling(const Ctx &ctx, Dwarf_Die die) {
  Dwarf_Die s = nullptr;
  Dwarf_Error e = nullptr;
  int rc = dwarf_siblingof_b(ctx.dbg(), die, true, &s, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return Die();
  if (rc != DW_DLV_OK)
    return ctx.error(e, ".debug_info", "cannot read a sibling DIE");
  Die sib(s);
  auto here = die_offset(ctx, die);
  if (!here)
    return std::move(here).take_error();
  auto there = die_offset(ctx, sib.get());
  if (!there)
    return std::move(there).take_error();
  if (*there <= *here)
    return ctx.error(".debug_info", fmt::format("DIE at 0x{:x} has a sibling at 0x{:x}, not after it", *here, *there));
  return sib;
}

// Chains are short (inlined call -> abstract instance, or out-of-line definition ->
// declaration); the bound protects against reference cycles in corrupt input.
Expected<std::optional<std::string>> resolved_name(const Ctx &ctx, Dwarf_Die die) {
  auto n = ctx.name(die);
  if (!n || *n)
    return n;
  Die hold;
  Dwarf_Die cur = die;
  for (int hop = 0; hop < 8; ++hop) {
    std::optional<Dwarf_Off> ref;
    for (Dwarf_Half at : {Dwarf_Half(DW_AT_abstract_origin), Dwarf_Half(DW_AT_specification)}) {
      auto r = ctx.ref_attr(cur, at);
      if (!r)
        return std::move(r).take_error();
      if (*r) {
        ref = *r;
        break;
      }
    }
    if (!ref)
      return std::optional<std::string>();
    auto d = ctx.die_at(*ref);
    if (!d)
      return std::move(d).take_error();
    hold = std::move(*d);
    cur = hold.get();
    auto nn = ctx.name(cur);
    if (!nn || *nn)
      return nn;
  }
  return std::optional<std::string>();
}

namespace {

// DWARF 2-4 .debug_ranges: (begin, end) pairs relative to the base address, which starts as
// the CU's DW_AT_low_pc and is changed by base-address-selection entries.
Expected<void> read_debug_ranges(const Ctx &ctx, Dwarf_Die die, Dwarf_Attribute attr, u64 cu_base,
                                 std::vector<Range> &out) {
  Dwarf_Error e = nullptr;
  Dwarf_Off off = 0;
  if (dwarf_global_formref(attr, &off, &e) != DW_DLV_OK) {
    // DWARF 2/3 producers used DW_FORM_data4/8 for section offsets.
    if (e)
      dwarf_dealloc_error(ctx.dbg(), e);
    e = nullptr;
    Dwarf_Unsigned u = 0;
    if (dwarf_formudata(attr, &u, &e) != DW_DLV_OK)
      return ctx.error(e, ".debug_info", "cannot read DW_AT_ranges");
    off = u;
  }
  Dwarf_Ranges *buf = nullptr;
  Dwarf_Signed n = 0;
  Dwarf_Unsigned bytes = 0;
  Dwarf_Off real = 0;
  int rc = dwarf_get_ranges_b(ctx.dbg(), off, die, &real, &buf, &n, &bytes, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return ctx.error(".debug_ranges", fmt::format("DW_AT_ranges 0x{:x} points to no range list", off));
  if (rc != DW_DLV_OK)
    return ctx.error(e, ".debug_ranges", fmt::format("cannot read the range list at 0x{:x}", off));
  u64 base = cu_base;
  for (Dwarf_Signed i = 0; i < n; ++i) {
    const Dwarf_Ranges &r = buf[i];
    if (r.dwr_type == DW_RANGES_END)
      break;
    if (r.dwr_type == DW_RANGES_ADDRESS_SELECTION) {
      base = r.dwr_addr2;
      continue;
    }
    if (r.dwr_addr1 < r.dwr_addr2)
      out.push_back({base + r.dwr_addr1, base + r.dwr_addr2});
  }
  dwarf_ranges_dealloc(ctx.dbg(), buf, n);
  return {};
}

// DWARF 5 .debug_rnglists: libdwarf "cooks" every entry kind (offset pairs against the
// current base, start/length, the indexed forms through .debug_addr) into absolute addresses.
Expected<void> read_rnglists(const Ctx &ctx, Dwarf_Attribute attr, std::vector<Range> &out) {
  Dwarf_Error e = nullptr;
  Dwarf_Half form = 0;
  if (dwarf_whatform(attr, &form, &e) != DW_DLV_OK)
    return ctx.error(e, ".debug_info", "cannot read the form of DW_AT_ranges");
  Dwarf_Unsigned val = 0;
  int rc = DW_DLV_OK;
  if (form == DW_FORM_rnglistx) {
    rc = dwarf_formudata(attr, &val, &e);
  } else {
    Dwarf_Off off = 0;
    rc = dwarf_global_formref(attr, &off, &e);
    val = off;
  }
  if (rc != DW_DLV_OK)
    return ctx.error(e, ".debug_info", "cannot read DW_AT_ranges");
  Dwarf_Rnglists_Head head = nullptr;
  Dwarf_Unsigned count = 0, global_off = 0;
  rc = dwarf_rnglists_get_rle_head(attr, form, val, &head, &count, &global_off, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return ctx.error(".debug_rnglists", fmt::format("DW_AT_ranges 0x{:x} points to no range list", val));
  if (rc != DW_DLV_OK)
    return ctx.error(e, ".debug_rnglists", fmt::format("cannot read the range list 0x{:x}", val));
  for (Dwarf_Unsigned i = 0; i < count; ++i) {
    unsigned len = 0, code = 0;
    Dwarf_Unsigned raw1 = 0, raw2 = 0, c1 = 0, c2 = 0;
    Dwarf_Bool no_addr = false;
    rc = dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &raw1, &raw2, &no_addr, &c1, &c2, &e);
    if (rc != DW_DLV_OK) {
      dwarf_dealloc_rnglists_head(head);
      return ctx.error(e, ".debug_rnglists", fmt::format("cannot read entry {} of range list 0x{:x}", i, global_off));
    }
    if (code == DW_RLE_end_of_list)
      break;
    if (code == DW_RLE_base_address || code == DW_RLE_base_addressx || no_addr)
      continue;
    if (c1 < c2)
      out.push_back({c1, c2});
  }
  dwarf_dealloc_rnglists_head(head);
  return {};
}

} // namespace

Expected<PcInfo> pc_info(const Ctx &ctx, Dwarf_Die die, Dwarf_Half version, u64 cu_base) {
  PcInfo info;
  Dwarf_Error e = nullptr;
  Dwarf_Addr low = 0;
  int rc = dwarf_lowpc(die, &low, &e);
  if (rc == DW_DLV_ERROR)
    return ctx.error(e, ".debug_info", "cannot read DW_AT_low_pc");
  if (rc == DW_DLV_OK) {
    info.low_pc = low;
    Dwarf_Addr high = 0;
    Dwarf_Half form = 0;
    Dwarf_Form_Class cls = DW_FORM_CLASS_UNKNOWN;
    rc = dwarf_highpc_b(die, &high, &form, &cls, &e);
    if (rc == DW_DLV_ERROR)
      return ctx.error(e, ".debug_info", "cannot read DW_AT_high_pc");
    if (rc == DW_DLV_OK) {
      // DWARF 4+ producers (GCC) emit DW_AT_high_pc as a length (class constant); DWARF 2/3
      // and some assemblers emit an address.
      u64 end = cls == DW_FORM_CLASS_CONSTANT ? low + high : high;
      if (end > low)
        info.ranges.push_back({low, end});
      return info;
    }
  }
  Attr a;
  rc = get_attr(die, DW_AT_ranges, &a.a, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return info;
  if (rc != DW_DLV_OK)
    return ctx.error(e, ".debug_info", "cannot read DW_AT_ranges");
  info.from_ranges = true;
  Expected<void> r = version >= 5 ? read_rnglists(ctx, a.a, info.ranges) : read_debug_ranges(ctx, die, a.a, cu_base, info.ranges);
  if (!r)
    return std::move(r).take_error();
  return info;
}

} // namespace kpg::dwarf::detail
