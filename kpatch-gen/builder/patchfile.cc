// SPDX-License-Identifier: GPL-2.0-only
#include "builder/patchfile.h"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <regex>
#include <sstream>

#include "builder/process.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

static std::string strip_component(const std::string &p) {
  size_t slash = p.find('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// "--- a/fs/proc/cmdline.c\t2024-01-01 ..." -> "a/fs/proc/cmdline.c"
static std::string header_path(const std::string &line) {
  std::string rest = line.substr(4);
  size_t tab = rest.find('\t');
  if (tab != std::string::npos)
    rest.resize(tab);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r'))
    rest.pop_back();
  return rest;
}

// "@@ -5,7 +5,8 @@ ..." -> the four numbers (a missing count is 1).
static bool parse_hunk_header(const std::string &line, Hunk &h) {
  static const std::regex re(R"(^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@)");
  std::smatch m;
  if (!std::regex_search(line, m, re))
    return false;
  auto num = [&](int i) { return m[i].matched ? std::stoull(m[i].str()) : 1ULL; };
  h.header = line;
  while (!h.header.empty() && (h.header.back() == '\r' || h.header.back() == ' '))
    h.header.pop_back();
  h.old_start = num(1);
  h.old_count = num(2);
  h.new_start = num(3);
  h.new_count = num(4);
  return true;
}

Expected<PatchInfo> parse_patch(const std::string &path) {
  auto text = read_text_file(path);
  if (!text)
    return std::move(text).take_error();
  PatchInfo info;
  info.file = path;
  std::istringstream in(*text);
  std::string line, minus;
  u64 lineno = 0;
  bool have_minus = false;
  // Inside a hunk: how many old and new lines are still to come. A body line such as
  // "--- a" (a removed "-- a") is not a file header while they are not exhausted.
  u64 old_left = 0, new_left = 0;
  bool change_seen = false;
  u32 context_run = 0;
  auto end_hunk = [&] {
    if (!info.files.empty() && !info.files.back().hunks.empty())
      info.files.back().hunks.back().trailing_context = change_seen ? context_run : 0;
  };
  while (std::getline(in, line)) {
    lineno++;
    if (old_left > 0 || new_left > 0) {
      Hunk &h = info.files.back().hunks.back();
      char c = line.empty() ? ' ' : line[0]; // an empty line is blank context (stripped whitespace)
      std::string body = line.empty() ? std::string() : line.substr(1);
      if (c == '\\')
        continue; // "\ No newline at end of file"
      if (c == ' ' || c == '-') {
        if (old_left == 0)
          return make_error(Location(path).with_section("line", lineno), "hunk has more old lines than its header says");
        old_left--;
        h.old_lines.push_back(body);
      }
      if (c == ' ' || c == '+') {
        if (new_left == 0)
          return make_error(Location(path).with_section("line", lineno), "hunk has more new lines than its header says");
        new_left--;
      }
      if (c != ' ' && c != '-' && c != '+')
        return make_error(Location(path).with_section("line", lineno),
                          fmt::format("unexpected line in a hunk (its header promised {} more old and {} more new lines)",
                                      old_left, new_left));
      if (c == ' ') {
        context_run++;
        if (!change_seen)
          h.leading_context++;
      } else {
        change_seen = true;
        context_run = 0;
      }
      if (old_left == 0 && new_left == 0)
        end_hunk();
      continue;
    }
    if (line.rfind("--- ", 0) == 0) {
      minus = header_path(line);
      have_minus = true;
      continue;
    }
    if (line.rfind("+++ ", 0) == 0 && have_minus) {
      std::string plus = header_path(line);
      PatchedFile f;
      f.created = minus == "/dev/null";
      f.deleted = plus == "/dev/null";
      f.path = strip_component(f.deleted ? minus : plus);
      if (f.path.empty() || f.path.find("..") != std::string::npos || f.path[0] == '/')
        return make_error(Location(path).with_section("line", lineno),
                          fmt::format("unusable file name '{}' in the patch header", plus));
      info.files.push_back(std::move(f));
      have_minus = false;
      continue;
    }
    have_minus = false;
    if (line.rfind("@@ ", 0) == 0 && !info.files.empty()) {
      Hunk h;
      if (!parse_hunk_header(line, h))
        return make_error(Location(path).with_section("line", lineno), "malformed hunk header '" + line + "'");
      old_left = h.old_count;
      new_left = h.new_count;
      change_seen = false;
      context_run = 0;
      info.files.back().hunks.push_back(std::move(h));
    }
  }
  if (old_left > 0 || new_left > 0)
    return make_error(Location(path).with_section("line", lineno), "the patch ends inside a hunk (truncated?)");
  if (info.files.empty())
    return make_error(Location(path), "no '--- a/FILE' / '+++ b/FILE' headers: not a unified diff");
  return info;
}

namespace {

// One hunk as patch(1) reports it ("Hunk #2 succeeded at 24 with fuzz 1 (offset 3 lines).").
struct HunkReport {
  size_t section = 0; // index into PatchInfo::files
  u32 hunk = 0;
  bool ok = false;
  u64 line = 0;
  i64 offset = 0;
  u32 fuzz = 0;
};

struct PatchRun {
  int status = 0;
  std::vector<HunkReport> hunks;
  std::vector<std::string> other; // lines that are neither file nor hunk reports ("Reversed ...")
};

// Runs patch(1) on `dir`; --dry-run changes nothing. Its --verbose output names each file
// ("checking file X" / "patching file X") and each hunk's fate; sections are matched to the
// parsed files by name, in order.
Expected<PatchRun> run_patch(const std::string &dir, const PatchInfo &p, u32 fuzz, bool dry_run, const std::string &log) {
  std::error_code ec;
  fs::remove(log, ec);
  Command c;
  c.argv = {"patch", "-p1", "-d", dir, "--batch", "--forward", "--no-backup-if-mismatch", "-r", "/dev/null",
            fmt::format("--fuzz={}", fuzz), "--verbose", "-i", fs::absolute(p.file).string()};
  if (dry_run)
    c.argv.push_back("--dry-run");
  c.log = log;
  auto rc = run(c);
  if (!rc)
    return std::move(rc).take_error();
  auto text = read_text_file(log);
  if (!text)
    return std::move(text).take_error();
  PatchRun r;
  r.status = *rc;
  static const std::regex file_re(R"(^(?:checking|patching) file '?(.*?)'?$)");
  static const std::regex hunk_re(
      R"(^Hunk #(\d+) (succeeded|FAILED|ignored) at (\d+)(?: with fuzz (\d+))?(?: \(offset (-?\d+) lines?\))?)");
  std::istringstream in(*text);
  std::string line;
  size_t next = 0, section = p.files.size(); // no section yet
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, file_re)) {
      section = p.files.size();
      for (size_t i = next; i < p.files.size(); i++)
        if (p.files[i].path == m[1].str()) {
          section = i;
          next = i + 1;
          break;
        }
      continue;
    }
    if (std::regex_search(line, m, hunk_re)) {
      HunkReport h;
      h.section = section;
      h.hunk = static_cast<u32>(std::stoul(m[1].str()));
      h.ok = m[2].str() == "succeeded";
      h.line = std::stoull(m[3].str());
      h.fuzz = m[4].matched ? static_cast<u32>(std::stoul(m[4].str())) : 0;
      h.offset = m[5].matched ? std::stoll(m[5].str()) : 0;
      r.hunks.push_back(h);
      continue;
    }
    if (line.find("Skipping patch") != std::string::npos || line.find("can't find file") != std::string::npos ||
        line.find("No file to patch") != std::string::npos || line.find("already exists") != std::string::npos)
      r.other.push_back(line);
  }
  return r;
}

// Lines of a file, without their newlines ("" for a file that does not exist yet).
std::vector<std::string> file_lines(const std::string &path) {
  std::vector<std::string> v;
  auto t = read_text_file(path);
  if (!t)
    return v;
  std::istringstream in(*t);
  std::string l;
  while (std::getline(in, l))
    v.push_back(l);
  return v;
}

// The 1-based lines where `needle` starts in `hay` (every place patch(1) could put a hunk
// whose lines are `needle`).
std::vector<u64> occurrences(const std::vector<std::string> &hay, const std::vector<std::string> &needle) {
  std::vector<u64> at;
  if (needle.size() > hay.size())
    return at;
  for (size_t i = 0; i + needle.size() <= hay.size(); i++)
    if (std::equal(needle.begin(), needle.end(), hay.begin() + static_cast<long>(i)))
      at.push_back(i + 1);
  return at;
}

std::string hunk_name(const PatchedFile &f, u32 n) {
  const Hunk *h = n >= 1 && n <= f.hunks.size() ? &f.hunks[n - 1] : nullptr;
  return fmt::format("{}: hunk #{}{}", f.path, n, h ? " (" + h->header + ")" : "");
}

} // namespace

Expected<std::vector<HunkPlacement>> apply_patch(const std::string &dir, const PatchInfo &p, u32 fuzz,
                                                 const std::string &log) {
  Location where(p.file);
  auto dry = run_patch(dir, p, fuzz, true, log);
  if (!dry)
    return std::move(dry).take_error();
  std::vector<std::string> problems;
  if (dry->status != 0) {
    for (const HunkReport &h : dry->hunks)
      if (!h.ok && h.section < p.files.size())
        problems.push_back(fmt::format("{} does not apply at line {}{}", hunk_name(p.files[h.section], h.hunk),
                                       h.line, fuzz ? fmt::format(" even with fuzz {}", fuzz) : " exactly"));
    for (const std::string &o : dry->other)
      problems.push_back(o);
    if (problems.empty())
      problems.push_back(fmt::format("patch failed (exit {}):\n{}", dry->status, log_tail(log)));
    // Would fuzz have helped? Say so, but let the author decide: a fuzzy hunk is a guess.
    if (fuzz < 3)
      if (auto fz = run_patch(dir, p, 3, true, log + ".fuzz"); fz && fz->status == 0) {
        u32 need = 0;
        for (const HunkReport &h : fz->hunks)
          need = std::max(need, h.fuzz);
        problems.push_back(fmt::format("it applies with --fuzz {}: check that each hunk lands in the right place "
                                       "(the source may differ from what the patch was made against), then pass "
                                       "--fuzz {}",
                                       need, need));
      }
  } else {
    // Hunks that moved or needed fuzz must have matched in one place only.
    std::map<size_t, std::vector<std::string>> before;
    for (const HunkReport &h : dry->hunks) {
      if (h.section >= p.files.size() || (h.offset == 0 && h.fuzz == 0))
        continue;
      const PatchedFile &f = p.files[h.section];
      if (h.hunk < 1 || h.hunk > f.hunks.size())
        continue;
      const Hunk &hk = f.hunks[h.hunk - 1];
      if (!before.count(h.section))
        before[h.section] = file_lines(dir + "/" + f.path);
      // With fuzz F, patch(1) ignored up to F context lines at each end.
      u32 lead = std::min(h.fuzz, hk.leading_context), trail = std::min(h.fuzz, hk.trailing_context);
      std::vector<std::string> matched;
      if (lead + trail < hk.old_lines.size())
        matched.assign(hk.old_lines.begin() + lead, hk.old_lines.end() - trail);
      std::vector<u64> at = occurrences(before[h.section], matched);
      if (matched.empty() || at.size() > 1)
        problems.push_back(fmt::format(
            "{} applies only {} and its {} lines match {} places of the file{}: patch(1) takes the nearest, which may "
            "be the wrong one. Add context lines (diff -U5) or make the patch against this source",
            hunk_name(f, h.hunk),
            h.offset && h.fuzz ? fmt::format("{:+} lines away with fuzz {}", h.offset, h.fuzz)
            : h.offset         ? fmt::format("{:+} lines away from where it says", h.offset)
                               : fmt::format("with fuzz {}", h.fuzz),
            matched.size(), matched.empty() ? std::string("all") : std::to_string(at.size()),
            at.empty() ? "" : fmt::format(" (lines {})", fmt::join(at, ", "))));
    }
  }
  if (!problems.empty()) {
    std::string msg = "does not apply exactly to " + dir + ":";
    for (const std::string &pr : problems)
      msg += "\n  " + pr;
    return make_error(where, msg);
  }
  auto real = run_patch(dir, p, fuzz, false, log);
  if (!real)
    return std::move(real).take_error();
  if (real->status != 0)
    return make_error(where, fmt::format("patch failed after its dry run succeeded (exit {}):\n{}", real->status,
                                         log_tail(log)));
  std::vector<HunkPlacement> moved;
  for (const HunkReport &h : real->hunks) {
    if (h.section >= p.files.size() || (h.offset == 0 && h.fuzz == 0))
      continue;
    const PatchedFile &f = p.files[h.section];
    HunkPlacement m;
    m.patch = p.file;
    m.file = f.path;
    m.hunk = h.hunk;
    m.header = h.hunk >= 1 && h.hunk <= f.hunks.size() ? f.hunks[h.hunk - 1].header : "";
    m.line = h.line;
    m.offset = h.offset;
    m.fuzz = h.fuzz;
    moved.push_back(std::move(m));
  }
  return moved;
}

std::string unsupported_reason(const std::string &p) {
  auto ends = [&](const char *s) { return p.size() >= std::strlen(s) && p.compare(p.size() - std::strlen(s), std::string::npos, s) == 0; };
  auto starts = [&](const char *s) { return p.rfind(s, 0) == 0; };
  if (ends(".S") || ends(".s"))
    return "assembly is built without ftrace entries and objtool-generated metadata the diff relies on; "
           "livepatch cannot redirect it";
  if (p.find("/vdso/") != std::string::npos || starts("arch/x86/entry/vdso") || starts("arch/x86/um/vdso"))
    return "vDSO code runs in user space and is mapped from an image built into the kernel";
  if (starts("arch/x86/boot/") || starts("arch/x86/realmode/"))
    return "boot and real-mode code runs before the kernel proper and is not live patchable";
  if (starts("scripts/") || starts("tools/") || starts("Documentation/"))
    return "not kernel code";
  if (ends("Makefile") || ends("Kbuild") || p.find("Kconfig") != std::string::npos)
    return "build files change how the kernel is built, not code a live patch can carry";
  return {};
}

} // namespace kpg::build
