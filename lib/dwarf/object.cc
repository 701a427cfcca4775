// SPDX-License-Identifier: GPL-2.0-only
//
// ObjectDebugInfo: line numbers and inlining at a (section, offset) of a relocatable object.
//
// load() reads everything it needs once, into sorted vectors, and closes libdwarf; queries
// are binary searches over plain data. Addresses are the fake ones of object_sections.h, so a
// query first turns (section, offset) into fake(section) + offset.
//
// Cost: linear in the DWARF that matters. The DIE walk descends only into subprograms,
// lexical blocks and inlined subroutines (never types or member lists), abstract-origin
// names are cached by DIE offset, and the two indexes are built with one sort each.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "dwarf/dwarf.h"
#include "dwarf/libdwarf_util.h"
#include "dwarf/object_sections.h"

namespace kpg::dwarf {

using detail::Ctx;
using detail::Die;

namespace detail {
// The loaded tables (ObjectDebugInfo::Impl is private to the class; the loader needs a name).
struct ObjectTables {
  bool has_info = false;
  std::vector<u64> sec_addr; // fake address per SectionId, detail::kNoAddress if none
  std::vector<u64> sec_size;

  // Line table. Rows of one sequence are contiguous in `rows` and sorted by address (stably,
  // so that several rows at one address keep their table order).
  struct Row {
    u64 addr;
    u32 line;
  };
  struct Seq {
    u64 start, end; // [start, end): end is the DW_LNE_end_sequence address
    u32 first, count;
  };
  std::vector<Row> rows;
  std::vector<Seq> seqs; // sorted by start

  // Inlining. `nodes` is the tree of DW_TAG_inlined_subroutine DIEs (parent = the nearest
  // enclosing inlined subroutine). `segs` partitions the address space: from segs[i].start up
  // to segs[i+1].start the innermost inlined subroutine is segs[i].node (-1: none).
  struct Node {
    InlineFrame frame;
    i32 parent;
  };
  struct Seg {
    u64 start;
    i32 node;
  };
  std::vector<Node> nodes;
  std::vector<Seg> segs;

  std::optional<u64> address(elf::SectionId sec, u64 offset) const {
    u32 i = to_index(sec);
    if (i >= sec_addr.size() || sec_addr[i] == detail::kNoAddress || offset >= sec_size[i])
      return std::nullopt;
    return sec_addr[i] + offset;
  }
};
} // namespace detail

struct ObjectDebugInfo::Impl : detail::ObjectTables {};

namespace {

// Collects one object's tables; lives for the duration of load().
class Loader {
public:
  Loader(const Ctx &ctx, detail::ObjectTables &out, const LoadOptions &opts) : ctx_(ctx), out_(out), opts_(opts) {
    for (elf::SectionId s : opts.inline_sections)
      if (auto a = out.address(s, 0))
        wanted_.emplace_back(*a, *a + out.sec_size[to_index(s)]);
  }
  Expected<void> run();
  void build_segments();

private:
  struct Interval {
    u64 low, high;
    u32 depth; // number of enclosing inlined subroutines, including this one
    i32 node;
  };

  Expected<void> read_lines(Dwarf_Die cu);
  bool read_file_names(Dwarf_Die cu);
  Expected<void> walk(const Die &parent, i32 node, u32 depth, u32 nesting);
  Expected<void> add_inline(const Die &die, i32 parent, u32 depth, u32 nesting);
  Expected<std::string> callee_name(Dwarf_Die die);
  bool wanted(const Die &subprogram);

  const Ctx &ctx_;
  detail::ObjectTables &out_;
  const LoadOptions &opts_;
  std::vector<std::pair<u64, u64>> wanted_; // fake address ranges of LoadOptions::inline_sections
  // Per unit.
  Dwarf_Half version_ = 0;
  u64 cu_base_ = 0;
  std::vector<std::string> files_; // line-table file names by DW_AT_call_file value
  // Across units.
  std::unordered_map<Dwarf_Off, std::string> origin_names_;
  std::vector<Interval> intervals_;
};

// A corrupt file could nest DIEs arbitrarily deep (and overflow the stack of this recursive
// walk); inlining chains plus lexical blocks in real kernel code stay far below this.
constexpr u32 kMaxNesting = 512;

std::string join_path(const std::string &dir, const std::string &name) {
  std::string p = name;
  if (!name.starts_with('/') && !dir.empty())
    p = dir.ends_with('/') ? dir + name : dir + "/" + name;
  while (p.starts_with("./"))
    p.erase(0, 2);
  return p;
}

// RAII for a line context.
struct LineContext {
  Dwarf_Line_Context c = nullptr;
  ~LineContext() {
    if (c)
      dwarf_srclines_dealloc_b(c);
  }
};

} // namespace

// The unit's line table: rows into out_.rows/seqs, and the file list that DW_AT_call_file
// indexes. Names under the compilation directory (directory entry 0, in DWARF 4 and 5) stay
// relative to it, without "./": an in-tree kernel build gives "include/linux/list.h", not
// "/home/build/linux/include/linux/list.h", stable across build machines. Other names are as
// the compiler recorded them: in an O= build the sources are outside comp_dir, so they read
// "/src/linux/include/linux/list.h" (or "../include/..." with a relative srctree).
// When only the inlining tree is wanted, DW_AT_call_file needs the file names but not the
// line program: dwarf_srcfiles() reads just the header, while dwarf_srclines_b() decodes every
// row (about 30 ms of a 40 ms load for a 10,000-function unit). File index N is array entry N
// in DWARF 5 and N-1 before (libdwarf's documented convention).
bool Loader::read_file_names(Dwarf_Die cu) {
  files_.clear();
  char **names = nullptr;
  Dwarf_Signed n = 0;
  Dwarf_Error e = nullptr;
  if (dwarf_srcfiles(cu, &names, &n, &e) != DW_DLV_OK) {
    if (e)
      dwarf_dealloc_error(ctx_.dbg(), e);
    return false;
  }
  // libdwarf joins each name with its directory, the comp dir included; read_lines() keeps
  // names relative to the comp dir, and so do we ("include/linux/wrap.h", "lines.c").
  std::string comp_dir;
  if (auto cd = ctx_.string_attr(cu, DW_AT_comp_dir); cd && *cd)
    comp_dir = **cd + "/";
  size_t shift = version_ >= 5 ? 0 : 1;
  files_.assign(static_cast<size_t>(n) + shift, std::string());
  for (Dwarf_Signed i = 0; i < n; ++i) {
    std::string f = names[i] ? names[i] : "";
    if (!comp_dir.empty() && f.rfind(comp_dir, 0) == 0)
      f.erase(0, comp_dir.size());
    files_[static_cast<size_t>(i) + shift] = std::move(f);
    dwarf_dealloc(ctx_.dbg(), names[i], DW_DLA_STRING);
  }
  dwarf_dealloc(ctx_.dbg(), names, DW_DLA_LIST);
  return true;
}

Expected<void> Loader::read_lines(Dwarf_Die cu) {
  files_.clear();
  LineContext lc;
  Dwarf_Unsigned lversion = 0;
  Dwarf_Small table_count = 0;
  Dwarf_Error e = nullptr;
  int rc = dwarf_srclines_b(cu, &lversion, &table_count, &lc.c, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return {};
  if (rc != DW_DLV_OK)
    return ctx_.error(e, ".debug_line", "cannot read the line table header");

  // Include directories, by DWARF directory index; dirs[0] stays "" (the comp dir). DWARF 5
  // lists the comp dir as entry 0 of the table; DWARF 2-4 leave it implicit and the table
  // starts at index 1. libdwarf 20210528 indexes dwarf_srclines_include_dir_data() the same
  // way (0-based for a version 5 table, 1-based before); later releases changed that, so the
  // first index is probed rather than assumed.
  Dwarf_Signed ndirs = 0;
  if (dwarf_srclines_include_dir_count(lc.c, &ndirs, &e) != DW_DLV_OK)
    return ctx_.error(e, ".debug_line", "cannot read the include directories");
  std::vector<std::string> dirs(1);
  Dwarf_Signed first_dir = 1;
  if (lversion >= 5) {
    const char *d0 = nullptr;
    if (dwarf_srclines_include_dir_data(lc.c, 0, &d0, &e) == DW_DLV_OK)
      first_dir = 0;
    else if (e)
      dwarf_dealloc_error(ctx_.dbg(), e);
    e = nullptr;
  }
  // DWARF 5 with 0-based access: k is the DWARF index. Otherwise k-th entry (1-based) is
  // DWARF index k before version 5, k-1 in version 5.
  for (Dwarf_Signed k = first_dir; k < ndirs + first_dir; ++k) {
    const char *d = nullptr;
    if (dwarf_srclines_include_dir_data(lc.c, k, &d, &e) != DW_DLV_OK)
      return ctx_.error(e, ".debug_line", fmt::format("cannot read include directory {}", k));
    size_t index = static_cast<size_t>(lversion >= 5 && first_dir == 1 ? k - 1 : k);
    if (index == 0)
      continue; // the comp dir: names stay relative to it
    if (dirs.size() <= index)
      dirs.resize(index + 1);
    dirs[index] = d ? d : "";
  }

  Dwarf_Signed base = 0, count = 0, end = 0;
  if (dwarf_srclines_files_indexes(lc.c, &base, &count, &end, &e) != DW_DLV_OK)
    return ctx_.error(e, ".debug_line", "cannot read the file table");
  if (base < 0 || end < base || end > (1 << 24))
    return ctx_.error(".debug_line", fmt::format("implausible file table indexes [{}, {})", base, end));
  files_.assign(static_cast<size_t>(end), std::string());
  for (Dwarf_Signed i = base; i < end; ++i) {
    const char *name = nullptr;
    Dwarf_Unsigned dir = 0, mtime = 0, len = 0;
    Dwarf_Form_Data16 *md5 = nullptr;
    if (dwarf_srclines_files_data_b(lc.c, i, &name, &dir, &mtime, &len, &md5, &e) != DW_DLV_OK)
      return ctx_.error(e, ".debug_line", fmt::format("cannot read file entry {}", i));
    std::string d = dir < dirs.size() ? dirs[dir] : std::string();
    files_[static_cast<size_t>(i)] = join_path(d, name ? name : "");
  }

  Dwarf_Line *lines = nullptr;
  Dwarf_Signed nlines = 0;
  if (table_count == 0 || !opts_.lines)
    return {}; // a header without rows (a unit with no code), or rows not wanted
  rc = dwarf_srclines_from_linecontext(lc.c, &lines, &nlines, &e);
  if (rc == DW_DLV_NO_ENTRY)
    return {};
  if (rc != DW_DLV_OK)
    return ctx_.error(e, ".debug_line", "cannot read the line table");

  size_t seq_first = out_.rows.size();
  bool in_seq = false;
  u64 seq_start = 0;
  for (Dwarf_Signed i = 0; i < nlines; ++i) {
    Dwarf_Addr addr = 0;
    Dwarf_Unsigned lineno = 0;
    Dwarf_Bool end_seq = false;
    if (dwarf_lineaddr(lines[i], &addr, &e) != DW_DLV_OK || dwarf_lineno(lines[i], &lineno, &e) != DW_DLV_OK ||
        dwarf_lineendsequence(lines[i], &end_seq, &e) != DW_DLV_OK)
      return ctx_.error(e, ".debug_line", fmt::format("cannot read line table row {}", i));
    if (!in_seq) {
      in_seq = true;
      seq_start = addr;
      seq_first = out_.rows.size();
    }
    if (!end_seq) {
      out_.rows.push_back({addr, static_cast<u32>(std::min<Dwarf_Unsigned>(lineno, UINT32_MAX))});
      continue;
    }
    in_seq = false;
    auto first = out_.rows.begin() + static_cast<std::ptrdiff_t>(seq_first);
    std::stable_sort(first, out_.rows.end(), [](const auto &a, const auto &b) { return a.addr < b.addr; });
    size_t n = out_.rows.size() - seq_first;
    // A sequence left at address 0 was not relocated (a reference to a section we do not
    // know): it would alias every other such sequence, so drop it rather than answer wrongly.
    if (n == 0 || addr <= seq_start || seq_start < detail::kFakeBase) {
      out_.rows.resize(seq_first);
      continue;
    }
    out_.seqs.push_back({seq_start, addr, static_cast<u32>(seq_first), static_cast<u32>(n)});
  }
  if (in_seq) // a sequence without DW_LNE_end_sequence: the table is truncated
    out_.rows.resize(seq_first);
  return {};
}

Expected<std::string> Loader::callee_name(Dwarf_Die die) {
  auto origin = ctx_.ref_attr(die, DW_AT_abstract_origin);
  if (!origin)
    return std::move(origin).take_error();
  if (!*origin) {
    auto n = ctx_.name(die);
    if (!n)
      return std::move(n).take_error();
    return n->value_or("");
  }
  if (auto it = origin_names_.find(**origin); it != origin_names_.end())
    return it->second;
  auto d = ctx_.die_at(**origin);
  if (!d)
    return std::move(d).take_error();
  auto n = detail::resolved_name(ctx_, d->get());
  if (!n)
    return std::move(n).take_error();
  std::string name = n->value_or("");
  origin_names_.emplace(**origin, name);
  return name;
}

Expected<void> Loader::add_inline(const Die &die, i32 parent, u32 depth, u32 nesting) {
  detail::ObjectTables::Node node;
  node.parent = parent;
  auto callee = callee_name(die.get());
  if (!callee)
    return std::move(callee).take_error();
  node.frame.callee = std::move(*callee);
  auto file = ctx_.udata_attr(die.get(), DW_AT_call_file);
  if (!file)
    return std::move(file).take_error();
  if (*file && **file < files_.size())
    node.frame.call_file = files_[static_cast<size_t>(**file)];
  auto line = ctx_.udata_attr(die.get(), DW_AT_call_line);
  if (!line)
    return std::move(line).take_error();
  node.frame.call_line = static_cast<u32>(std::min<u64>(line->value_or(0), UINT32_MAX));
  auto pc = detail::pc_info(ctx_, die.get(), version_, cu_base_);
  if (!pc)
    return std::move(pc).take_error();
  i32 id = static_cast<i32>(out_.nodes.size());
  out_.nodes.push_back(std::move(node));
  for (const detail::Range &r : pc->ranges)
    if (r.low >= detail::kFakeBase) // unrelocated (address 0) ranges would alias everything
      intervals_.push_back({r.low, r.high, depth + 1, id});
  return walk(die, id, depth + 1, nesting + 1);
}

// Descends into the DIEs that can contain inlined code. An inlined subroutine with no pc
// attributes still becomes a node so that its children keep the right chain.
Expected<void> Loader::walk(const Die &parent, i32 node, u32 depth, u32 nesting) {
  if (nesting > kMaxNesting)
    return ctx_.error(".debug_info", fmt::format("DIEs nested more than {} deep", kMaxNesting));
  auto c = detail::first_child(ctx_, parent.get());
  if (!c)
    return std::move(c).take_error();
  Die cur = std::move(*c);
  while (cur) {
    auto tag = detail::die_tag(ctx_, cur.get());
    if (!tag)
      return std::move(tag).take_error();
    Expected<void> r;
    switch (*tag) {
    case DW_TAG_subprogram:
      if (opts_.inlines && wanted(cur))
        r = walk(cur, node, depth, nesting + 1);
      break;
    case DW_TAG_lexical_block:
      r = walk(cur, node, depth, nesting + 1);
      break;
    case DW_TAG_inlined_subroutine:
      r = add_inline(cur, node, depth, nesting);
      break;
    default:
      break;
    }
    if (!r)
      return r;
    auto n = detail::next_sibling(ctx_, cur.get());
    if (!n)
      return std::move(n).take_error();
    cur = std::move(*n);
  }
  return {};
}

// Is this function's code in one of the requested sections? (All are, without a filter;
// functions without pc attributes -- declarations, abstract instances -- hold no code.)
bool Loader::wanted(const Die &sp) {
  if (opts_.inline_sections.empty())
    return true;
  // A function with DW_AT_low_pc is one contiguous range [low_pc, high_pc) of one section, and
  // the fake addresses of two sections never overlap (object_sections.h): it lies in a wanted
  // section exactly when its low_pc does. DW_AT_high_pc is not needed, and reading it cost as
  // much as the rest of the walk (dwarf_highpc_b() decodes the DIE's attributes again: 33M of
  // 96M instructions in load() for one changed function of a 10,000-function unit).
  // Functions split into parts (a hot and a .cold part: DW_AT_ranges) take the full path.
  Dwarf_Addr low = 0;
  Dwarf_Error e = nullptr;
  int rc = dwarf_lowpc(sp.get(), &low, &e);
  if (rc == DW_DLV_OK)
    return std::any_of(wanted_.begin(), wanted_.end(), [&](auto r) { return r.first <= low && low < r.second; });
  if (rc == DW_DLV_ERROR)
    dwarf_dealloc_error(ctx_.dbg(), e); // pc_info() below meets it again and says what it is
  auto pc = detail::pc_info(ctx_, sp.get(), version_, cu_base_);
  if (!pc)
    return true; // let the walk report the problem
  for (const detail::Range &r : pc->ranges)
    for (auto [lo, hi] : wanted_)
      if (r.low < hi && lo < r.high)
        return true;
  return false;
}

Expected<void> Loader::run() {
  auto r = detail::for_each_unit(ctx_, [&](Die &cu, const detail::UnitHeader &h) -> Expected<bool> {
    version_ = h.version;
    Dwarf_Addr low = 0;
    Dwarf_Error e = nullptr;
    int rc = dwarf_lowpc(cu.get(), &low, &e);
    if (rc == DW_DLV_ERROR)
      return ctx_.error(e, ".debug_info", "cannot read the unit's DW_AT_low_pc");
    cu_base_ = rc == DW_DLV_OK ? low : 0;
    if (opts_.lines || !read_file_names(cu.get()))
      if (auto l = read_lines(cu.get()); !l)
        return std::move(l).take_error();
    if (auto w = walk(cu, -1, 0, 0); !w)
      return std::move(w).take_error();
    return true;
  });
  if (!r)
    return r;
  std::sort(out_.seqs.begin(), out_.seqs.end(), [](const auto &a, const auto &b) { return a.start < b.start; });
  build_segments();
  return {};
}

// Sweep over interval boundaries, keeping the active intervals ordered by depth: each
// elementary segment gets the deepest active interval's node. O(n log n) in the number of
// inlined ranges. Ties at equal depth do happen: GCC can give two sibling inlined instances
// overlapping ranges when it merges their code (two global_node_page_state() calls in
// meminfo_proc_show); the smaller range wins, as in binutils' lookup (objdump -dl --inlines),
// then the later DIE.
void Loader::build_segments() {
  struct Event {
    u64 at;
    bool open;
    u32 idx;
  };
  std::vector<Event> ev;
  ev.reserve(intervals_.size() * 2);
  for (u32 i = 0; i < intervals_.size(); ++i) {
    if (intervals_[i].low >= intervals_[i].high)
      continue;
    ev.push_back({intervals_[i].low, true, i});
    ev.push_back({intervals_[i].high, false, i});
  }
  std::sort(ev.begin(), ev.end(), [](const Event &a, const Event &b) { return a.at < b.at; });
  // Ordered by (depth, -length, index): the last element is the innermost, most specific one.
  struct Key {
    u32 depth;
    u64 neg_len;
    u32 idx;
    auto operator<=>(const Key &) const = default;
  };
  auto key = [&](u32 i) { return Key{intervals_[i].depth, ~(intervals_[i].high - intervals_[i].low), i}; };
  std::set<Key> active;
  for (size_t i = 0; i < ev.size();) {
    u64 at = ev[i].at;
    for (; i < ev.size() && ev[i].at == at; ++i) {
      if (ev[i].open)
        active.insert(key(ev[i].idx));
      else
        active.erase(key(ev[i].idx));
    }
    i32 node = active.empty() ? -1 : intervals_[active.rbegin()->idx].node;
    if (!out_.segs.empty() && out_.segs.back().node == node)
      continue;
    if (!out_.segs.empty() && out_.segs.back().start == at)
      out_.segs.back().node = node;
    else
      out_.segs.push_back({at, node});
  }
  intervals_.clear();
  intervals_.shrink_to_fit();
}

bool loads_debug_section(std::string_view name) {
  return name.starts_with(".debug_") && name != ".debug_frame" && name != ".debug_aranges" && name != ".debug_loc" &&
         name != ".debug_loclists";
}

Expected<ObjectDebugInfo> ObjectDebugInfo::load(const elf::ObjectFile &obj, const LoadOptions &opts) {
  auto impl = std::make_unique<Impl>();
  auto info = obj.find_section(".debug_info");
  if (!info || obj.sections[*info].data.empty())
    return ObjectDebugInfo(std::move(impl)); // built without -g: nothing to say, not an error

  impl->sec_addr = detail::assign_fake_addresses(obj);
  impl->sec_size.reserve(obj.sections.size());
  for (const elf::Section &s : obj.sections)
    impl->sec_size.push_back(s.size);

  auto open = detail::open_object_dwarf(obj, impl->sec_addr);
  if (!open)
    return std::move(open).take_error();
  Ctx ctx((*open)->dbg->get(), obj.path);
  Loader loader(ctx, *impl, opts);
  if (auto r = loader.run(); !r)
    return std::move(r).take_error();
  impl->has_info = true;
  return ObjectDebugInfo(std::move(impl));
}

ObjectDebugInfo::ObjectDebugInfo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ObjectDebugInfo::ObjectDebugInfo(ObjectDebugInfo &&) noexcept = default;
ObjectDebugInfo &ObjectDebugInfo::operator=(ObjectDebugInfo &&) noexcept = default;
ObjectDebugInfo::~ObjectDebugInfo() = default;

bool ObjectDebugInfo::has_info() const { return impl_ && impl_->has_info; }

std::optional<u32> ObjectDebugInfo::line_at(elf::SectionId sec, u64 offset) const {
  if (!has_info())
    return std::nullopt;
  auto addr = impl_->address(sec, offset);
  if (!addr)
    return std::nullopt;
  const auto &seqs = impl_->seqs;
  auto s = std::upper_bound(seqs.begin(), seqs.end(), *addr, [](u64 a, const Impl::Seq &q) { return a < q.start; });
  if (s == seqs.begin())
    return std::nullopt;
  --s;
  if (*addr >= s->end)
    return std::nullopt;
  auto first = impl_->rows.begin() + s->first;
  auto last = first + s->count;
  // The last row at or below the address: when several rows share an address (GCC's location
  // views: "{" of the caller, then the inlined callee's lines, at one pc) the last one is the
  // line the instruction there was generated from.
  auto r = std::upper_bound(first, last, *addr, [](u64 a, const Impl::Row &row) { return a < row.addr; });
  if (r == first)
    return std::nullopt;
  --r;
  if (r->line == 0) // compiler-generated code with no source line
    return std::nullopt;
  return r->line;
}

std::vector<InlineFrame> ObjectDebugInfo::inline_chain(elf::SectionId sec, u64 offset) const {
  std::vector<InlineFrame> chain;
  if (!has_info())
    return chain;
  auto addr = impl_->address(sec, offset);
  if (!addr)
    return chain;
  const auto &segs = impl_->segs;
  auto s = std::upper_bound(segs.begin(), segs.end(), *addr, [](u64 a, const Impl::Seg &g) { return a < g.start; });
  if (s == segs.begin())
    return chain;
  --s;
  for (i32 n = s->node; n >= 0 && chain.size() <= impl_->nodes.size(); n = impl_->nodes[static_cast<size_t>(n)].parent)
    chain.push_back(impl_->nodes[static_cast<size_t>(n)].frame);
  return chain;
}

} // namespace kpg::dwarf
