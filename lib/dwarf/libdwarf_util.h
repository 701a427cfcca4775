// SPDX-License-Identifier: GPL-2.0-only
//
// Private to lib/dwarf: thin RAII and error plumbing around libdwarf 20210528 (Debian 12).
// Never included from a public header, so nothing outside lib/dwarf sees libdwarf.
//
// Rules of the old libdwarf API that every caller here relies on:
//  - Always pass a Dwarf_Error*: with a null error pointer and no handler libdwarf abort()s.
//  - Every Dwarf_Die we obtain must be dwarf_dealloc_die()d or it lives until dwarf_finish();
//    a vmlinux walk touches millions of DIEs, so Die frees eagerly.
//  - Strings from dwarf_diename()/dwarf_formstring() point into section data: never freed.
#pragma once
#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/error.h"

namespace kpg::dwarf::detail {

// Owns one Dwarf_Die.
class Die {
public:
  Die() = default;
  explicit Die(Dwarf_Die d) : d_(d) {}
  Die(Die &&o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  Die &operator=(Die &&o) noexcept {
    if (this != &o) {
      reset();
      d_ = std::exchange(o.d_, nullptr);
    }
    return *this;
  }
  Die(const Die &) = delete;
  Die &operator=(const Die &) = delete;
  ~Die() { reset(); }
  void reset() {
    if (d_)
      dwarf_dealloc_die(d_);
    d_ = nullptr;
  }
  Dwarf_Die get() const { return d_; }
  explicit operator bool() const { return d_ != nullptr; }

private:
  Dwarf_Die d_ = nullptr;
};

// Per-Dwarf_Debug context: turns libdwarf errors into kpg::Error with the file and the
// DWARF section being read ("fs/proc/cmdline.o: .debug_info: DW_DLE_...").
class Ctx {
public:
  Ctx(Dwarf_Debug dbg, std::string file) : dbg_(dbg), file_(std::move(file)) {}
  Dwarf_Debug dbg() const { return dbg_; }
  const std::string &file() const { return file_; }

  // Takes ownership of `e` (deallocates it) and builds an Error.
  Error error(Dwarf_Error e, const char *section, const std::string &what) const;
  Error error(const char *section, const std::string &what) const;

  // Attribute readers: the value, std::nullopt when the DIE lacks the attribute, or an Error.
  Expected<std::optional<std::string>> name(Dwarf_Die die) const;
  Expected<std::optional<std::string>> string_attr(Dwarf_Die die, Dwarf_Half attr) const;
  Expected<std::optional<u64>> udata_attr(Dwarf_Die die, Dwarf_Half attr) const;
  Expected<bool> flag_attr(Dwarf_Die die, Dwarf_Half attr) const;
  // Global .debug_info offset of a reference attribute (DW_AT_abstract_origin, ...).
  Expected<std::optional<Dwarf_Off>> ref_attr(Dwarf_Die die, Dwarf_Half attr) const;
  // The DIE at a global .debug_info offset.
  Expected<Die> die_at(Dwarf_Off off) const;

private:
  Dwarf_Debug dbg_;
  std::string file_;
};

// Owns a Dwarf_Debug opened on a file (dwarf_init_b) or on an access interface
// (dwarf_object_init_b); finishes it on destruction.
class Debug {
public:
  enum class Kind { File, Object };
  Debug() = default;
  Debug(Dwarf_Debug d, Kind k, int fd = -1) : d_(d), kind_(k), fd_(fd) {}
  Debug(Debug &&o) noexcept
      : d_(std::exchange(o.d_, nullptr)), kind_(o.kind_), fd_(std::exchange(o.fd_, -1)) {}
  Debug &operator=(Debug &&) = delete;
  Debug(const Debug &) = delete;
  ~Debug();
  Dwarf_Debug get() const { return d_; }

private:
  Dwarf_Debug d_ = nullptr;
  Kind kind_ = Kind::File;
  int fd_ = -1;
};

// libdwarf 20210528 keeps process-wide state that its init functions touch (see
// object_sections.cc: the ELF section-flags hook). Every dwarf_*init* call in lib/dwarf holds
// this lock, so the library may be used from several threads.
std::mutex &init_mutex();

// Opens a linked ELF (vmlinux, or any ELF) with libdwarf's own reader. An ELF without any
// DWARF gives an Error: every caller of the linked-image queries needs the debug info.
Expected<Debug> open_file(const std::string &path);

struct UnitHeader {
  Dwarf_Half version = 0;
  Dwarf_Half address_size = 8;
};

// [low, high) address ranges of a DIE: DW_AT_low_pc/DW_AT_high_pc (address or offset form)
// or DW_AT_ranges (.debug_ranges for DWARF 2-4, .debug_rnglists for DWARF 5).
// `cu_base` is the unit's base address (the CU DIE's DW_AT_low_pc, 0 if absent).
struct Range {
  u64 low = 0;
  u64 high = 0;
};
struct PcInfo {
  std::optional<u64> low_pc; // DW_AT_low_pc, when present
  std::vector<Range> ranges; // empty: the DIE has no code
  bool from_ranges = false;  // ranges came from DW_AT_ranges
};
Expected<PcInfo> pc_info(const Ctx &ctx, Dwarf_Die die, Dwarf_Half version, u64 cu_base);

// First child / next sibling, with a check that siblings move forward in .debug_info (a
// backwards DW_AT_sibling in a corrupted file would otherwise loop forever).
// Return value: DIE, empty Die for "no more", or an Error.
Expected<Die> first_child(const Ctx &ctx, Dwarf_Die die);
Expected<Die> next_sibling(const Ctx &ctx, Dwarf_Die die);
Expected<Dwarf_Off> die_offset(const Ctx &ctx, Dwarf_Die die);
Expected<Dwarf_Half> die_tag(const Ctx &ctx, Dwarf_Die die);

// Calls `fn(Dwarf_Die child, Dwarf_Half tag)`, which returns Expected<void>, for each child
// of `die` in order; stops at the first error (libdwarf's or fn's).
template <typename Fn> Expected<void> for_each_child(const Ctx &ctx, Dwarf_Die die, Fn &&fn) {
  auto first = first_child(ctx, die);
  if (!first)
    return std::move(first).take_error();
  for (Die c = std::move(*first); c;) {
    auto tag = die_tag(ctx, c.get());
    if (!tag)
      return std::move(tag).take_error();
    if (auto r = fn(c.get(), *tag); !r)
      return r;
    auto next = next_sibling(ctx, c.get());
    if (!next)
      return std::move(next).take_error();
    c = std::move(*next);
  }
  return {};
}

// Name of a subprogram or inlined subroutine: its DW_AT_name, else the name of the DIE
// reached through DW_AT_abstract_origin / DW_AT_specification (a concrete out-of-line copy of
// a static inline, or an inlined call, has only DW_AT_abstract_origin).
Expected<std::optional<std::string>> resolved_name(const Ctx &ctx, Dwarf_Die die);

// Iterates the compile (and partial) units of .debug_info in order, calling
// `fn(Die &cu_die, const UnitHeader &)`, which returns Expected<bool>: true to go on, false
// to stop early (struct_sizes stops once every name is found).
template <typename Fn> Expected<void> for_each_unit(const Ctx &ctx, Fn &&fn) {
  for (;;) {
    UnitHeader h;
    Dwarf_Unsigned hdr_len = 0, typeoff = 0, next = 0;
    Dwarf_Off abbrev_off = 0;
    Dwarf_Half len_size = 0, ext_size = 0, unit_type = 0;
    Dwarf_Sig8 sig{};
    Dwarf_Error e = nullptr;
    int rc = dwarf_next_cu_header_d(ctx.dbg(), true, &hdr_len, &h.version, &abbrev_off, &h.address_size, &len_size,
                                    &ext_size, &sig, &typeoff, &next, &unit_type, &e);
    if (rc == DW_DLV_NO_ENTRY)
      return {};
    if (rc != DW_DLV_OK)
      return ctx.error(e, ".debug_info", "cannot read unit header");
    Dwarf_Die raw = nullptr;
    rc = dwarf_siblingof_b(ctx.dbg(), nullptr, true, &raw, &e);
    if (rc == DW_DLV_NO_ENTRY)
      continue;
    if (rc != DW_DLV_OK)
      return ctx.error(e, ".debug_info", "cannot read unit DIE");
    Die cu(raw);
    auto tag = die_tag(ctx, cu.get());
    if (!tag)
      return std::move(tag).take_error();
    if (*tag != DW_TAG_compile_unit && *tag != DW_TAG_partial_unit)
      continue; // type and skeleton units carry no code
    Expected<bool> more = fn(cu, h);
    if (!more)
      return std::move(more).take_error();
    if (!*more)
      return {};
  }
}

} // namespace kpg::dwarf::detail
