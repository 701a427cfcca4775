// SPDX-License-Identifier: GPL-2.0-only
//
// function_abis(): the types a function's callers depend on, as the unit's DWARF spells them.
#include <fmt/format.h>

#include <set>
#include <utility>

#include "dwarf/dwarf.h"
#include "libdwarf_util.h"
#include "object_sections.h"

namespace kpg::dwarf {

using detail::Ctx;
using detail::Die;

namespace {

// Spells types the way genksyms expands them for an export's CRC: the prototype in C-like
// text, every named struct, union and enum it reaches (through pointers too) once, by name.
class AbiWriter {
public:
  explicit AbiWriter(const Ctx &ctx, FunctionAbi &out) : ctx_(ctx), out_(out) {}

  // The prototype of `fn` into FunctionAbi::prototype, then every named type it reaches.
  Expected<void> write(Dwarf_Die fn) {
    auto p = prototype(fn);
    if (!p)
      return std::move(p).take_error();
    out_.prototype = std::move(*p);
    // Named types are expanded here, one at a time, not where they are met: the types a kernel
    // function reaches nest thousands deep (struct sk_buff -> struct sock -> struct net -> ...),
    // too deep to follow on the stack.
    while (!pending_.empty()) {
      auto [key, off] = std::move(pending_.back());
      pending_.pop_back();
      auto die = ctx_.die_at(off);
      if (!die)
        return std::move(die).take_error();
      auto tag = detail::die_tag(ctx_, die->get());
      if (!tag)
        return std::move(tag).take_error();
      auto text = *tag == DW_TAG_typedef ? type_of(die->get()) : layout(die->get(), *tag);
      if (!text)
        return std::move(text).take_error();
      out_.aggregates[key] = std::move(*text);
    }
    return {};
  }

private:
  // "int(struct foo *, unsigned long)"
  Expected<std::string> prototype(Dwarf_Die fn) {
    auto ret = type_of(fn);
    if (!ret)
      return ret;
    std::string params;
    auto walked = detail::for_each_child(ctx_, fn, [&](Dwarf_Die c, Dwarf_Half tag) -> Expected<void> {
      if (tag != DW_TAG_formal_parameter && tag != DW_TAG_unspecified_parameters)
        return {};
      std::string p = "...";
      if (tag == DW_TAG_formal_parameter) {
        auto t = type_of(c);
        if (!t)
          return std::move(t).take_error();
        p = std::move(*t);
      }
      params += (params.empty() ? "" : ", ") + p;
      return {};
    });
    if (!walked)
      return std::move(walked).take_error();
    return fmt::format("{}({})", *ret, params);
  }

  // The type DW_AT_type of `die` names; "void" without one.
  Expected<std::string> type_of(Dwarf_Die die) {
    auto ref = ctx_.ref_attr(die, DW_AT_type);
    if (!ref)
      return std::move(ref).take_error();
    if (!*ref)
      return std::string("void");
    return type_at(**ref);
  }

  Expected<std::string> type_at(Dwarf_Off off) {
    // Only pointers, qualifiers, arrays and anonymous aggregates nest here (named types are
    // expanded by write()): deeper than this is a cycle, which only corrupt DWARF has.
    if (++depth_ > 256)
      return ctx_.error(".debug_info", fmt::format("the type at 0x{:x} nests more than 256 levels", off));
    auto r = spell(off);
    --depth_;
    return r;
  }

  Expected<std::string> spell(Dwarf_Off off) {
    auto die = ctx_.die_at(off);
    if (!die)
      return std::move(die).take_error();
    Dwarf_Die d = die->get();
    auto tag = detail::die_tag(ctx_, d);
    if (!tag)
      return std::move(tag).take_error();
    auto name = ctx_.name(d);
    if (!name)
      return std::move(name).take_error();
    switch (*tag) {
    case DW_TAG_base_type:
    case DW_TAG_unspecified_type:
      return name->value_or("?");
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type: {
      auto t = type_of(d);
      if (!t)
        return t;
      static const std::map<Dwarf_Half, const char *> qual = {
          {DW_TAG_const_type, "const "}, {DW_TAG_volatile_type, "volatile "}, {DW_TAG_restrict_type, "restrict "},
          {DW_TAG_atomic_type, "_Atomic "}};
      if (auto q = qual.find(*tag); q != qual.end())
        return q->second + *t;
      return *t + (*tag == DW_TAG_pointer_type ? " *" : " &");
    }
    case DW_TAG_typedef: {
      // The name is what the prototype says; what it stands for is part of the ABI too.
      std::string key = "typedef " + name->value_or("?");
      if (out_.aggregates.emplace(key, "").second)
        pending_.emplace_back(key, off);
      return name->value_or("?");
    }
    case DW_TAG_array_type:
      return array(d);
    case DW_TAG_subroutine_type: {
      auto p = prototype(d);
      if (!p)
        return p;
      return "fn " + *p;
    }
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_class_type:
    case DW_TAG_enumeration_type:
      return aggregate(d, *tag, *name);
    default:
      return fmt::format("tag 0x{:x}", *tag);
    }
  }

  Expected<std::string> array(Dwarf_Die d) {
    auto elem = type_of(d);
    if (!elem)
      return elem;
    std::string dims;
    auto walked = detail::for_each_child(ctx_, d, [&](Dwarf_Die c, Dwarf_Half) -> Expected<void> {
      auto count = ctx_.udata_attr(c, DW_AT_count);
      if (!count)
        return std::move(count).take_error();
      auto upper = ctx_.udata_attr(c, DW_AT_upper_bound);
      if (!upper)
        return std::move(upper).take_error();
      dims += *count ? fmt::format("[{}]", **count) : *upper ? fmt::format("[{}]", **upper + 1) : "[]";
      return {};
    });
    if (!walked)
      return std::move(walked).take_error();
    return *elem + dims;
  }

  // A named aggregate is spelled by name and expanded once into FunctionAbi::aggregates (a
  // struct that points to itself, struct list_head, ends there); an anonymous one in place.
  Expected<std::string> aggregate(Dwarf_Die d, Dwarf_Half tag, const std::optional<std::string> &name) {
    const char *kind = tag == DW_TAG_union_type ? "union" : tag == DW_TAG_enumeration_type ? "enum" : "struct";
    if (!name) {
      auto l = layout(d, tag);
      if (!l)
        return l;
      return std::string(kind) + " " + *l;
    }
    std::string key = std::string(kind) + " " + *name;
    if (out_.aggregates.emplace(key, "").second) {
      auto off = detail::die_offset(ctx_, d);
      if (!off)
        return std::move(off).take_error();
      pending_.emplace_back(key, *off);
    }
    return key;
  }

  // "opaque" for a declaration; else "{int a@0; struct bar *b@8;} size 16", or for an enum
  // "{A=0, B=1} size 4".
  Expected<std::string> layout(Dwarf_Die d, Dwarf_Half tag) {
    auto decl = ctx_.flag_attr(d, DW_AT_declaration);
    if (!decl)
      return std::move(decl).take_error();
    if (*decl)
      return std::string(FunctionAbi::kOpaque);
    auto size = ctx_.udata_attr(d, DW_AT_byte_size);
    if (!size)
      return std::move(size).take_error();
    std::string body;
    auto walked = detail::for_each_child(ctx_, d, [&](Dwarf_Die c, Dwarf_Half ctag) -> Expected<void> {
      if (ctag != DW_TAG_member && !(tag == DW_TAG_enumeration_type && ctag == DW_TAG_enumerator))
        return {};
      auto cname = ctx_.name(c);
      if (!cname)
        return std::move(cname).take_error();
      if (ctag == DW_TAG_enumerator) {
        auto v = const_value(c);
        if (!v)
          return std::move(v).take_error();
        body += fmt::format("{}{}={}", body.empty() ? "" : ", ", cname->value_or("?"), *v);
        return {};
      }
      auto t = type_of(c);
      if (!t)
        return std::move(t).take_error();
      auto at = ctx_.udata_attr(c, DW_AT_data_member_location);
      if (!at)
        return std::move(at).take_error();
      auto bits = ctx_.udata_attr(c, DW_AT_bit_size);
      if (!bits)
        return std::move(bits).take_error();
      auto bit_at = ctx_.udata_attr(c, DW_AT_data_bit_offset);
      if (!bit_at)
        return std::move(bit_at).take_error();
      body += fmt::format("{} {}@{}", *t, cname->value_or(""), at->value_or(0));
      if (*bits)
        body += fmt::format(":{}@bit{}", **bits, bit_at->value_or(0));
      body += "; ";
      return {};
    });
    if (!walked)
      return std::move(walked).take_error();
    return fmt::format("{{{}}} size {}", body, size->value_or(0));
  }

  // An enumerator's DW_AT_const_value, signed or not.
  Expected<i64> const_value(Dwarf_Die d) {
    Dwarf_Attribute a = nullptr;
    Dwarf_Error e = nullptr;
    int rc = dwarf_attr(d, DW_AT_const_value, &a, &e); // a plain attribute: no DW_AT_abstract_origin to follow
    if (rc == DW_DLV_NO_ENTRY)
      return i64(0);
    if (rc != DW_DLV_OK)
      return ctx_.error(e, ".debug_info", "cannot read DW_AT_const_value");
    Dwarf_Signed sv = 0;
    rc = dwarf_formsdata(a, &sv, &e);
    if (rc != DW_DLV_OK) {
      dwarf_dealloc_error(ctx_.dbg(), e);
      e = nullptr;
      Dwarf_Unsigned uv = 0;
      rc = dwarf_formudata(a, &uv, &e);
      sv = static_cast<Dwarf_Signed>(uv);
    }
    dwarf_dealloc_attribute(a);
    if (rc != DW_DLV_OK)
      return ctx_.error(e, ".debug_info", "cannot read DW_AT_const_value");
    return i64(sv);
  }

  const Ctx &ctx_;
  FunctionAbi &out_;
  int depth_ = 0;
  std::vector<std::pair<std::string, Dwarf_Off>> pending_; // named types met, not yet expanded
};

} // namespace

Expected<std::map<std::string, FunctionAbi>> function_abis(const elf::ObjectFile &obj,
                                                          const std::vector<std::string> &names) {
  std::map<std::string, FunctionAbi> out;
  auto info = obj.find_section(".debug_info");
  if (!info || obj.sections[*info].data.empty() || names.empty())
    return out;
  std::set<std::string> wanted(names.begin(), names.end());
  auto open = detail::open_object_dwarf(obj, detail::assign_fake_addresses(obj));
  if (!open)
    return std::move(open).take_error();
  Ctx ctx((*open)->dbg->get(), obj.path);
  auto walked = detail::for_each_unit(ctx, [&](Die &cu, const detail::UnitHeader &) -> Expected<bool> {
    auto each = detail::for_each_child(ctx, cu.get(), [&](Dwarf_Die c, Dwarf_Half tag) -> Expected<void> {
      if (tag != DW_TAG_subprogram)
        return {};
      auto name = ctx.name(c);
      if (!name)
        return std::move(name).take_error();
      auto decl = ctx.flag_attr(c, DW_AT_declaration);
      if (!decl)
        return std::move(decl).take_error();
      if (!*name || *decl || !wanted.count(**name) || out.count(**name))
        return {};
      FunctionAbi abi;
      if (auto w = AbiWriter(ctx, abi).write(c); !w)
        return w;
      out.emplace(**name, std::move(abi));
      return {};
    });
    if (!each)
      return std::move(each).take_error();
    return out.size() < wanted.size();
  });
  if (!walked)
    return std::move(walked).take_error();
  return out;
}

} // namespace kpg::dwarf
