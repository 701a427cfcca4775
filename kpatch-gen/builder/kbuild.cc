// SPDX-License-Identifier: GPL-2.0-only
#include "builder/kbuild.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <fmt/format.h>
#include <regex>
#include <sstream>

#include "builder/original_cache.h"
#include "builder/process.h"
#include "diff/target.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

// Parses one .<obj>.cmd file: the object name and its dependency paths.
static void parse_cmd(const std::string &text, const std::string &srctree, std::string &object,
                      std::vector<std::string> &deps) {
  std::istringstream in(text);
  std::string line;
  bool in_deps = false;
  while (std::getline(in, line)) {
    if (line.rfind("deps_", 0) == 0) {
      size_t sp = line.find(" :=");
      object = line.substr(5, sp - 5);
      in_deps = true;
      continue;
    }
    if (!in_deps)
      continue;
    if (line.empty() || line[0] != ' ') {
      in_deps = false;
      continue;
    }
    std::istringstream toks(line);
    std::string tok;
    while (toks >> tok) {
      if (tok == "\\" || tok.rfind("$(", 0) == 0 || tok.find(')') != std::string::npos)
        continue;
      // Normalised: fixdep keeps the path gcc opened, and drivers/cpufreq/intel_pstate.c's
      // #include "../drivers/thermal/intel/thermal_interrupt.h" is found through -I include
      // as $(srctree)/include/../drivers/thermal/intel/thermal_interrupt.h.
      if (tok.rfind(srctree + "/", 0) == 0)
        deps.push_back(fs::path(tok.substr(srctree.size() + 1)).lexically_normal().string());
      else if (tok[0] != '/')
        deps.push_back(fs::path(tok).lexically_normal().string()); // objtree-relative (generated) or in-tree build
    }
  }
}

// The .<obj>.o.cmd files of a full build, sorted by path, with what stat() says of each:
// BuildDeps::load reads them, the cache's fingerprint is made of the stat data.
namespace {
struct CmdFile {
  std::string rel; // "fs/proc/.meminfo.o.cmd"
  u64 ino = 0, size = 0;
  i64 mtime_ns = 0, ctime_ns = 0;
};
} // namespace

static Expected<std::vector<CmdFile>> list_cmd_files(const std::string &build_dir) {
  if (!fs::exists(fs::path(build_dir) / "Module.symvers") && !fs::exists(fs::path(build_dir) / "vmlinux.o"))
    return make_error(Location(build_dir), "not the directory of a full kernel build (no vmlinux.o or Module.symvers)");
  std::vector<CmdFile> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(build_dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      break;
    const fs::path &p = it->path();
    std::string name = p.filename().string();
    if (it->is_directory() && (name == "source" || name == "tools" || name == "scripts" || name == ".git")) {
      it.disable_recursion_pending();
      continue;
    }
    if (name.size() < 7 || name[0] != '.' || !name.ends_with(".o.cmd"))
      continue;
    struct stat st;
    if (::stat(p.c_str(), &st) != 0)
      continue;
    CmdFile f;
    f.rel = p.lexically_relative(build_dir).string();
    f.ino = static_cast<u64>(st.st_ino);
    f.size = static_cast<u64>(st.st_size);
    f.mtime_ns = static_cast<i64>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.ctime_ns = static_cast<i64>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const CmdFile &a, const CmdFile &b) { return a.rel < b.rel; });
  return out;
}

// The source tree a build directory was made from: its `source` link (an O= build), else the
// directory itself (an in-tree build).
static std::string srctree_of(const std::string &build_dir) {
  std::error_code ec;
  fs::path src = fs::read_symlink(fs::path(build_dir) / "source", ec);
  return ec ? fs::canonical(build_dir, ec).string() : src.string();
}

// Identifies the state of every .o.cmd file: a file rewritten, added, removed or replaced
// changes it. stat() data, not contents: reading the files is the cost the cache saves
// (74 MB in the lab's 1131 files). ctime and the inode number are in it because a copy
// that keeps mtimes (cp -p, rsync -t) cannot keep them.
static std::string fingerprint_of(const std::string &srctree, const std::vector<CmdFile> &files) {
  std::string text = fmt::format("srctree {}\n", srctree);
  for (const CmdFile &f : files)
    text += fmt::format("{} {} {} {} {}\n", f.rel, f.ino, f.size, f.mtime_ns, f.ctime_ns);
  return sha256_hex(std::span<const u8>(reinterpret_cast<const u8 *>(text.data()), text.size()));
}

Expected<std::string> BuildDeps::fingerprint(const std::string &build_dir) {
  auto files = list_cmd_files(build_dir);
  if (!files)
    return std::move(files).take_error();
  return fingerprint_of(srctree_of(build_dir), *files);
}

static Expected<void> scan(const std::string &build_dir, const std::vector<CmdFile> &files,
                                const std::string &srctree, std::set<std::string> &objects,
                                std::map<std::string, std::vector<std::string>> &users) {
  for (const CmdFile &f : files) {
    auto text = read_text_file(build_dir + "/" + f.rel);
    if (!text)
      continue;
    std::string object;
    std::vector<std::string> deps;
    parse_cmd(*text, srctree, object, deps);
    // Objects of the images that are not vmlinux nor a module: bzImage's decompressor and the
    // real-mode trampoline (arch/x86/boot/compressed/ident_map_64.o includes
    // ../../mm/ident_map.c, which vmlinux has through arch/x86/mm/init_64.o). A live patch
    // never reaches their code.
    if (object.rfind("arch/x86/boot/", 0) == 0 || object.rfind("arch/x86/realmode/", 0) == 0)
      continue;
    if (object.empty() || object.ends_with(".mod.o") || object == "vmlinux.o")
      continue;
    objects.insert(object);
    for (const std::string &dep : deps)
      users[dep].push_back(object);
  }
  if (objects.empty())
    return make_error(Location(build_dir), "no kbuild dependency files (.*.o.cmd) found");
  return {};
}

Expected<BuildDeps> BuildDeps::load(const std::string &build_dir) {
  auto files = list_cmd_files(build_dir);
  if (!files)
    return std::move(files).take_error();
  BuildDeps d;
  d.dir_ = build_dir;
  d.srctree_ = srctree_of(build_dir);
  if (auto s = scan(build_dir, *files, d.srctree_, d.objects_, d.users_); !s)
    return std::move(s).take_error();
  return d;
}

static constexpr const char *kDepsCacheMagic = "kpatch-gen build deps v1";
// Cache files kept (one per full build directory); the least recently used go first.
static constexpr size_t kDepsCacheEntries = 16;

std::string BuildDeps::serialize(const std::string &fingerprint) const {
  // Objects once, dependencies as lists of object indices: 2 MB for the lab's 1131
  // objects instead of the 74 MB of .cmd text.
  std::map<std::string, size_t> index;
  std::string out = fmt::format("{}\nfingerprint {}\nsrctree {}\nobjects {}\n", kDepsCacheMagic, fingerprint,
                                srctree_, objects_.size());
  for (const std::string &o : objects_) {
    index.emplace(o, index.size());
    out += o + "\n";
  }
  for (const auto &[dep, objs] : users_) {
    out += dep;
    out += '\t';
    for (size_t i = 0; i < objs.size(); i++)
      out += fmt::format("{}{}", i ? " " : "", index.at(objs[i]));
    out += '\n';
  }
  return out;
}

std::optional<BuildDeps> BuildDeps::parse(const std::string &text, const std::string &fingerprint) {
  std::istringstream in(text);
  std::string line;
  auto field = [&](const char *name) -> std::optional<std::string> {
    if (!std::getline(in, line) || !line.starts_with(std::string(name) + " "))
      return std::nullopt;
    return line.substr(std::strlen(name) + 1);
  };
  if (!std::getline(in, line) || line != kDepsCacheMagic)
    return std::nullopt;
  auto fp = field("fingerprint");
  if (!fp || *fp != fingerprint)
    return std::nullopt;
  auto src = field("srctree");
  auto count = field("objects");
  if (!src || !count)
    return std::nullopt;
  BuildDeps d;
  d.srctree_ = *src;
  size_t n = 0;
  try {
    n = std::stoul(*count);
  } catch (...) {
    return std::nullopt;
  }
  std::vector<std::string> objects;
  objects.reserve(n);
  for (size_t i = 0; i < n; i++) {
    if (!std::getline(in, line) || line.empty())
      return std::nullopt;
    objects.push_back(line);
    d.objects_.insert(line);
  }
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos)
      return std::nullopt;
    std::vector<std::string> &users = d.users_[line.substr(0, tab)];
    const char *p = line.c_str() + tab + 1, *end = line.c_str() + line.size();
    while (p < end) {
      char *next = nullptr;
      unsigned long i = std::strtoul(p, &next, 10);
      if (next == p || i >= objects.size())
        return std::nullopt;
      users.push_back(objects[i]);
      p = next;
      while (p < end && *p == ' ')
        p++;
    }
  }
  if (d.objects_.empty())
    return std::nullopt;
  return d;
}

Expected<BuildDeps> BuildDeps::load_cached(const std::string &build_dir, const std::string &cache_dir) {
  auto files = list_cmd_files(build_dir);
  if (!files)
    return std::move(files).take_error();
  std::string srctree = srctree_of(build_dir);
  std::string fp = fingerprint_of(srctree, *files);
  std::error_code ec;
  std::string canon = fs::canonical(build_dir, ec).string();
  std::string name = sha256_hex(std::span<const u8>(reinterpret_cast<const u8 *>(canon.data()), canon.size())).substr(0, 16);
  fs::create_directories(cache_dir, ec);
  if (ec)
    return make_error(Location(cache_dir), "cannot create cache directory: " + ec.message());
  std::string path = cache_dir + "/" + name + ".deps";
  // One scan at a time per build directory: a second build waits and reads the first's file.
  auto lock = FileLock::acquire(path + ".lock", [] {});
  if (!lock)
    return std::move(lock).take_error();
  if (auto text = read_text_file(path)) {
    if (auto d = parse(*text, fp)) {
      d->dir_ = build_dir;
      d->from_cache_ = true;
      ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0); // recently used
      return std::move(*d);
    }
  }
  BuildDeps d;
  d.dir_ = build_dir;
  d.srctree_ = srctree;
  if (auto s = scan(build_dir, *files, d.srctree_, d.objects_, d.users_); !s)
    return std::move(s).take_error();
  if (auto w = write_text_file_atomic(path, d.serialize(fp)); !w)
    return std::move(w).take_error();
  // Bounded: the least recently used files beyond kDepsCacheEntries go (a test's temporary
  // build directory leaves one behind).
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  for (const auto &e : fs::directory_iterator(cache_dir, ec))
    if (e.path().extension() == ".deps")
      entries.emplace_back(e.last_write_time(ec), e.path());
  if (entries.size() > kDepsCacheEntries) {
    std::sort(entries.begin(), entries.end());
    for (size_t i = 0; i + kDepsCacheEntries < entries.size(); i++)
      if (entries[i].second != fs::path(path))
        fs::remove(entries[i].second, ec);
  }
  return d;
}

std::vector<std::string> BuildDeps::dependents(const std::string &path) const {
  auto it = users_.find(path);
  return it == users_.end() ? std::vector<std::string>{} : it->second;
}

Expected<std::vector<Unit>> affected_units(const std::vector<PatchedFile> &files, const BuildDeps *deps,
                                           const HeaderSource *headers, std::vector<HeaderImpact> *impacts) {
  std::map<std::string, Unit> units;
  std::vector<std::string> problems;
  for (const PatchedFile &f : files) {
    bool is_c = f.path.ends_with(".c");
    bool is_h = f.path.ends_with(".h");
    if (is_c && !f.created) {
      std::string obj = f.path.substr(0, f.path.size() - 2) + ".o";
      if (deps && !deps->built(obj)) {
        // Not compiled on its own: maybe #included by another .c (e.g. kernel/sched/build_policy.c
        // includes rt.c and deadline.c) -- then its dependents are the units.
        auto users = deps->dependents(f.path);
        if (users.empty()) {
          // The config leaves it out (the builder names the option from the Makefiles).
          Unit unit = Unit::of(f.path, obj, kChangedByPatch);
          unit.not_built = fmt::format("the full build {} has no {}", deps->dir(), obj);
          units.emplace(obj, std::move(unit));
          continue;
        }
        for (const std::string &u : users) {
          std::string src = u.substr(0, u.size() - 2) + ".c";
          Unit unit = Unit::of(src, u, fmt::format("{} is compiled as part of {}", f.path, src));
          unit.part_of = f.path;
          size_t slash = u.rfind('/');
          unit.part_rule = fmt::format("the full build's dependency list of {} ({}/{}.{}.cmd)", u, deps->dir(),
                                       slash == std::string::npos ? "" : u.substr(0, slash + 1),
                                       u.substr(slash == std::string::npos ? 0 : slash + 1));
          units.emplace(u, std::move(unit));
        }
        continue;
      }
      units.insert_or_assign(obj, Unit::of(f.path, obj, kChangedByPatch));
      if (deps)
        for (const std::string &u : deps->dependents(f.path))
          if (u != obj)
            units.emplace(u, Unit::of(u.substr(0, u.size() - 2) + ".c", u, "includes " + f.path + " (changed)"));
    } else if (is_c && f.created) {
      problems.push_back(f.path + ": a new source file needs a Makefile change, which a live patch cannot carry; put "
                                  "the new code into an existing file");
    } else if (is_h) {
      if (deps) {
        HeaderImpact impact;
        impact.header = f.path;
        impact.from_full_build = true;
        for (const std::string &u : deps->dependents(f.path)) {
          units.emplace(u, Unit::of(u.substr(0, u.size() - 2) + ".c", u, "includes " + f.path + " (changed)"));
          impact.includers++;
          impact.candidates++;
          impact.objects.push_back(u);
        }
        std::sort(impact.objects.begin(), impact.objects.end());
        if (impacts)
          impacts->push_back(impact);
        continue;
      }
      if (!headers || !headers->graph) {
        problems.push_back(f.path + ": a changed header affects every unit that includes it; give the directory of a "
                                    "full build of this kernel with --kernel-build so its dependency lists can be used");
        continue;
      }
      HeaderImpact impact;
      auto hu = header_units(f.path, *headers, impact);
      if (!hu) {
        problems.push_back(hu.error().message);
        continue;
      }
      for (Unit &u : *hu)
        units.emplace(u.object, std::move(u));
      if (impacts)
        impacts->push_back(impact);
    } else {
      problems.push_back(f.path + ": only .c and .h files can be live patched");
    }
  }
  if (!problems.empty()) {
    std::string msg;
    for (const std::string &p : problems)
      msg += "\n  " + p;
    return make_error(Location("patch"), "cannot build a live patch from these changes:" + msg);
  }
  std::vector<Unit> out;
  for (auto &[k, u] : units)
    out.push_back(std::move(u));
  return out;
}

Expected<std::vector<Unit>> header_units(const std::string &header, const HeaderSource &src, HeaderImpact &impact) {
  impact.header = header;
  if (!src.graph->contains(header))
    return make_error(Location(header), "not found in the source tree's include graph");
  std::vector<Unit> out;
  for (const std::string &file : src.graph->includers(header)) {
    if (!file.ends_with(".c"))
      continue;
    BuildState state = src.config ? build_state(src.srctree, file, *src.config) : BuildState::Unknown;
    // A .c #included by another file is a unit only when a Makefile names it too
    // (kernel/sched/rt.c is compiled only inside build_policy.c, which is found anyway).
    bool included = false;
    for (const std::string &user : src.graph->includers(file))
      included |= user != file;
    if (included && state != BuildState::Built)
      continue;
    impact.includers++;
    if (state == BuildState::NotBuilt) {
      impact.not_built++;
      continue;
    }
    std::string obj = file.substr(0, file.size() - 2) + ".o";
    out.push_back(Unit::of(file, obj, "includes " + header + " (changed)"));
    out.back().confirm = header;
    impact.objects.push_back(obj);
  }
  std::sort(impact.objects.begin(), impact.objects.end());
  impact.candidates = out.size();
  if (out.size() > src.limit)
    return make_error(Location(header),
                      fmt::format("{}: {} units include it, {} of them may be built in this kernel: more than the {} "
                                  "the builder recompiles for one header (--max-header-units); a change to so "
                                  "widely used a header is rarely safe to live patch. Give a full build of this "
                                  "kernel with --kernel-build, or raise the limit",
                                  header, impact.includers, out.size(), src.limit));
  return out;
}

std::string cmd_file(const std::string &objtree, const std::string &object) {
  fs::path o = fs::path(objtree) / object;
  return (o.parent_path() / ("." + o.filename().string() + ".cmd")).string();
}

// -DMODULE -DKBUILD_MODNAME='"binfmt_misc"' in the original object's command line.
static Expected<void> read_membership(const std::string &objtree, Unit &u) {
  std::string cmdfile = cmd_file(objtree, u.object);
  auto text = read_text_file(cmdfile);
  if (!text)
    return std::move(text).take_error();
  std::string first = text->substr(0, text->find('\n'));
  bool module = first.find(" -DMODULE ") != std::string::npos;
  if (!module) {
    u.objname = "vmlinux";
    return {};
  }
  size_t k = first.find("-DKBUILD_MODNAME=");
  if (k == std::string::npos)
    return make_error(Location(cmdfile), "module object without -DKBUILD_MODNAME");
  size_t q1 = first.find('"', k), q2 = q1 == std::string::npos ? q1 : first.find('"', q1 + 1);
  if (q2 == std::string::npos)
    return make_error(Location(cmdfile), "cannot parse -DKBUILD_MODNAME");
  u.objname = first.substr(q1 + 1, q2 - q1 - 1);
  u.module_file = u.objname + ".ko";
  return {};
}

// One make per tree, both at once (on 2 cores this halves the wall time of the usual
// one-unit patch). Returns the two exit statuses.
// With `keep_going` targets (and none in `targets`), make runs with -k over them: each
// target's success is then read from the object tree, not from the exit status.
// `orig_targets`, when given, are the original tree's targets instead of `targets` (the units
// whose originals did not come from the cache); none: the original tree's make is not run
// (status 0).
static Expected<std::pair<int, int>> make_both(const PreparedTree &tree, const std::vector<std::string> &targets,
                                               int jobs, const std::string &logdir, const std::string &suffix,
                                               Progress &progress, Command &orig, Command &patched,
                                               const std::vector<std::string> &keep_going = {},
                                               const std::vector<std::string> *orig_targets = nullptr) {
  auto make = [&](const std::string &src, const std::string &obj, const std::string &log,
                  const std::vector<std::string> &goals) {
    Command c;
    c.argv = {"make", "-C", src, "O=" + obj, fmt::format("-j{}", jobs)};
    if (!keep_going.empty())
      c.argv.push_back("-k");
    c.argv.insert(c.argv.end(), keep_going.begin(), keep_going.end());
    for (const std::string &v : tree.make_vars())
      c.argv.push_back(v);
    c.argv.insert(c.argv.end(), goals.begin(), goals.end());
    c.log = log;
    std::error_code ec;
    fs::remove(log, ec);
    return c;
  };
  orig = make(tree.kernel_src(), tree.orig_obj(), logdir + "/compile-orig" + suffix + ".log",
              orig_targets ? *orig_targets : targets);
  patched = make(tree.patched_src(), tree.patched_obj(), logdir + "/compile-patched" + suffix + ".log", targets);
  progress.note(command_line(patched));
  std::optional<Running> ro;
  if (!orig_targets || !orig_targets->empty()) {
    auto r = start(orig);
    if (!r)
      return std::move(r).take_error();
    ro = std::move(*r);
  } else {
    (void)write_text_file_atomic(orig.log, "every original unit came from the cache: nothing to compile\n");
  }
  auto rp = start(patched);
  if (!rp) {
    if (ro)
      wait(*ro);
    return std::move(rp).take_error();
  }
  int so = ro ? wait(*ro) : 0;
  int sp = wait(*rp);
  return std::make_pair(so, sp);
}

std::optional<CompileError> first_compile_error(const std::string &log_text, const std::string &srctree) {
  // gcc: "/cache/prep/K/patched-src/fs/proc/cmdline.c:12:10: fatal error: linux/nope.h: No such
  // file or directory", preceded by "In file included from ..." lines and followed by the
  // source line and caret; make: "make[3]: *** [scripts/Makefile.build:250: fs/proc/cmdline.o]
  // Error 1".
  static const std::regex diag(R"(^(\S+?):([0-9]+):([0-9]+): (fatal error|error): (.*)$)");
  static const std::regex make_err(R"(^make\[[0-9]+\]: \*\*\* \[[^\]]*: ([^\]]+\.o)\] Error)");
  std::istringstream in(log_text);
  std::string line;
  std::vector<std::string> included; // "In file included from" lines right before the error
  std::optional<CompileError> e;
  int after = 0;
  auto rel = [&](std::string p) {
    if (!srctree.empty() && p.rfind(srctree + "/", 0) == 0)
      p = p.substr(srctree.size() + 1);
    return p;
  };
  while (std::getline(in, line)) {
    std::smatch m;
    if (e) {
      if (e->object.empty() && std::regex_search(line, m, make_err))
        e->object = m[1];
      if (after > 0 && !std::regex_match(line, diag) && line.rfind("make", 0) != 0) {
        e->context += line + "\n";
        after--;
      } else {
        after = 0;
      }
      continue;
    }
    if (line.starts_with("In file included from") || (line.starts_with("                 from ") && !included.empty())) {
      included.push_back(line);
      continue;
    }
    if (std::regex_match(line, m, diag)) {
      e = CompileError{};
      e->file = rel(m[1]);
      e->line = static_cast<u32>(std::stoul(m[2]));
      e->column = static_cast<u32>(std::stoul(m[3]));
      e->message = std::string(m[4]) + ": " + std::string(m[5]);
      for (const std::string &i : included)
        e->context += i + "\n";
      after = 3; // the source line, the caret, maybe a fix-it
      continue;
    }
    included.clear();
  }
  if (e) {
    // Paths in the context lines too: the user knows fs/..., not the cache's copy.
    size_t pos = 0;
    std::string prefix = srctree + "/";
    while (!srctree.empty() && (pos = e->context.find(prefix)) != std::string::npos)
      e->context.erase(pos, prefix.size());
  }
  return e;
}

std::string CompileWarning::str() const {
  if (line == 0)
    return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

std::vector<CompileWarning> compile_warnings(const std::string &log_text, const std::string &srctree) {
  static const std::regex gcc(R"(^(\S+?):([0-9]+):([0-9]+): warning: (.*)$)");
  static const std::regex objtool(R"(^(\S+\.o): warning: (objtool: .*)$)");
  std::vector<CompileWarning> out;
  std::set<std::string> seen;
  std::istringstream in(log_text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    CompileWarning w;
    if (std::regex_match(line, m, gcc)) {
      w.file = m[1];
      w.line = static_cast<u32>(std::stoul(m[2]));
      w.column = static_cast<u32>(std::stoul(m[3]));
      w.message = m[4];
    } else if (std::regex_match(line, m, objtool)) {
      w.file = m[1];
      w.message = m[2];
    } else {
      continue;
    }
    if (!srctree.empty() && w.file.rfind(srctree + "/", 0) == 0)
      w.file = w.file.substr(srctree.size() + 1);
    if (seen.insert(w.str()).second)
      out.push_back(std::move(w));
  }
  return out;
}

// The compiler's first error in `log`, the output of the patched side's compile (make or the
// recorded command), with the log's path; when it holds none, an error that says `what`
// failed with `status` and quotes the log's tail.
static Expected<CompileError> compile_error_in(const std::string &log, const std::string &srctree,
                                               const std::string &what, int status) {
  auto text = read_text_file(log);
  std::optional<CompileError> e = text ? first_compile_error(*text, srctree) : std::nullopt;
  if (!e)
    return make_error(Location(log), fmt::format("{} (exit {}):\n{}", what, status, log_tail(log)));
  e->log = log;
  return std::move(*e);
}

// Unit::objname/module_file of every built unit, from its original object's .cmd.
static Expected<void> read_memberships(const std::string &orig_objtree, std::vector<Unit> &units) {
  for (Unit &u : units)
    if (u.not_built.empty())
      if (auto m = read_membership(orig_objtree, u); !m)
        return m;
  return {};
}

// Units found through the include graph (Unit::confirm) are candidates: one make per tree
// with -k compiles them all, and each is judged by what kbuild produced:
//   - no original object: kbuild cannot compile it alone in this configuration (an object
//     only its directory's Makefile knows how to build, or a file the Makefiles did not
//     plainly rule out but this config does not compile): dropped, with that reason;
//   - an original whose dependency list (.<obj>.cmd) does not name the header: the include
//     is under an #if this configuration skips (drivers/net/tun.c is a candidate for
//     include/linux/virtio_net.h either way): dropped;
//   - an original and no patched object: the patch does not compile; the compiler's first
//     error is the result, as for a changed .c file.
// A unit changed by the patch itself that kbuild cannot build alone makes the whole build
// fail here (no directory fallback for a patch mixing .c and header changes).
static Expected<std::optional<CompileError>> compile_confirming(const PreparedTree &tree, std::vector<Unit> &units,
                                                                const std::vector<std::string> &objects, int jobs,
                                                                const std::string &logdir, Progress &progress) {
  Command orig, patched;
  auto r = make_both(tree, {}, jobs, logdir, "", progress, orig, patched, objects);
  if (!r)
    return std::move(r).take_error();
  auto exists = [](const std::string &objtree, const std::string &object) {
    return fs::exists(fs::path(objtree) / object) && fs::exists(cmd_file(objtree, object));
  };
  std::vector<std::string> failed_orig;
  bool patched_failed = false;
  for (Unit &u : units) {
    if (!u.not_built.empty())
      continue;
    if (!exists(tree.orig_obj(), u.object)) {
      if (u.confirm.empty()) {
        failed_orig.push_back(u.object);
      } else {
        u.not_built = "kbuild does not compile it on its own in this configuration";
        progress.note(fmt::format("{}: includes {} but is not compiled: {}", u.object, u.confirm, u.not_built));
      }
      continue;
    }
    if (!u.confirm.empty()) {
      auto text = read_text_file(cmd_file(tree.orig_obj(), u.object));
      std::string object;
      std::vector<std::string> deps;
      if (text)
        parse_cmd(*text, tree.kernel_src(), object, deps);
      if (std::find(deps.begin(), deps.end(), u.confirm) == deps.end()) {
        u.not_built = "does not include " + u.confirm + " in this configuration";
        progress.note(fmt::format("{}: {}", u.object, u.not_built));
        continue;
      }
    }
    if (!exists(tree.patched_obj(), u.object))
      patched_failed = true;
  }
  if (!failed_orig.empty())
    return make_error(Location(orig.log), fmt::format("compiling the original units failed: {}:\n{}",
                                                      fmt::join(failed_orig, " "), log_tail(orig.log)));
  if (patched_failed) {
    auto e = compile_error_in(patched.log, tree.patched_src(), "the patched source does not compile", r->second);
    if (!e)
      return std::move(e).take_error();
    return std::optional(std::move(*e));
  }
  if (auto m = read_memberships(tree.orig_obj(), units); !m)
    return std::move(m).take_error();
  return std::optional<CompileError>();
}

// Looks every unit's original up in `cache`: a hit is in orig-obj now (Unit::original_cached).
// Returns the keys of the misses, by object, for store_originals().
static Expected<std::map<std::string, std::string>> restore_originals(const OriginalCache &cache,
                                                                       std::vector<Unit> &units, Progress &progress) {
  std::map<std::string, std::string> misses;
  for (Unit &u : units) {
    if (!u.not_built.empty())
      continue;
    std::string key = cache.key(u.object);
    auto found = cache.restore(key, u.object);
    if (!found)
      return std::move(found).take_error();
    u.original_cached = found->hit;
    if (found->hit)
      progress.note(u.object + ": original from the cache");
    else
      misses.emplace(u.object, key);
    if (!found->hit && found->why_not != "not in the cache")
      progress.note(fmt::format("{}: original compiled again: {}", u.object, found->why_not));
  }
  return misses;
}

// Stores the originals kbuild just compiled. A failure to store costs only the next build's
// time: it is a note, not an error.
static void store_originals(const OriginalCache &cache, const std::map<std::string, std::string> &misses,
                            Progress &progress) {
  for (const auto &[object, key] : misses)
    if (auto s = cache.store(key, object); !s)
      progress.note(fmt::format("note: {}: original not cached: {}", object, s.error().str()));
}

// The command kbuild ran for `u`'s object, from the first line of the original's .cmd
// ("cmd_fs/proc/meminfo.o := gcc-12 -Wp,-MMD,fs/proc/.meminfo.o.d ... -c -o fs/proc/meminfo.o
// <srctree>/fs/proc/meminfo.c ; ./tools/objtool/objtool ... fs/proc/meminfo.o" in 6.1,
// "savedcmd_..." since 6.2), when the patched tree can run it as it is, with only the source
// tree swapped: the C compile of the unit's own source; no '$' (the file holds make's escapes,
// "$$" and "$(pound)", which only make undoes); no #SYMVER line (with CONFIG_MODVERSIONS
// kbuild runs genksyms after compiling an object with exports, and the CRCs are compared:
// make does that).
static std::optional<std::string> reusable_command(const std::string &cmd_text, const Unit &u,
                                                   const std::string &srctree) {
  std::string first = cmd_text.substr(0, cmd_text.find('\n'));
  std::string cmd;
  for (const char *prefix : {"cmd_", "savedcmd_"}) {
    std::string head = prefix + u.object + " := ";
    if (first.rfind(head, 0) == 0)
      cmd = first.substr(head.size());
  }
  if (cmd.empty() || cmd.find('$') != std::string::npos || cmd_text.find("\n#SYMVER ") != std::string::npos ||
      !u.source.ends_with(".c") || cmd.find(" -c -o " + u.object + " " + srctree + "/" + u.source + " ") == std::string::npos ||
      cmd.find("-Wp,-MMD,") == std::string::npos)
    return std::nullopt;
  return cmd;
}

// The patched side of units whose originals came from the cache, compiled with the
// original's recorded command in the patched tree instead of make: kbuild's fixed cost per
// make is ~1.1 s on the lab config (it evaluates 33 cc-option and 30 as-instr probes and
// descends through the prepare targets before its one gcc), more than compiling
// fs/proc/meminfo.c itself. Then the tree's own fixdep writes the .cmd, as kbuild's
// cmd_and_fixdep does, so that a later make of this object in the patched tree sees the
// command it would have run and a dependency list. `used` is false (and nothing was run)
// when a unit's command cannot be reused: make compiles them then.
struct RecordedCompile {
  bool used = false;
  std::optional<CompileError> error;
};
static Expected<RecordedCompile> compile_recorded(const PreparedTree &tree, std::vector<Unit> &units, int jobs,
                                                  const std::string &logdir, Progress &progress) {
  struct Job {
    Unit *unit;
    std::string cmd, depfile, log;
  };
  std::vector<Job> todo;
  for (Unit &u : units) {
    if (!u.not_built.empty())
      continue;
    if (!u.changed_by_patch() || !u.original_cached)
      return RecordedCompile{};
    auto text = read_text_file(cmd_file(tree.orig_obj(), u.object));
    if (!text)
      return RecordedCompile{};
    auto cmd = reusable_command(*text, u, tree.kernel_src());
    if (!cmd)
      return RecordedCompile{};
    std::string from = tree.kernel_src() + "/", to = tree.patched_src() + "/";
    for (size_t pos = 0; (pos = cmd->find(from, pos)) != std::string::npos; pos += to.size())
      cmd->replace(pos, from.size(), to);
    size_t d = cmd->find("-Wp,-MMD,") + 9;
    std::string depfile = cmd->substr(d, cmd->find(' ', d) - d);
    std::string log = fmt::format("{}/compile-patched-{}.log", logdir, todo.size());
    todo.push_back({&u, std::move(*cmd), std::move(depfile), std::move(log)});
  }
  if (todo.empty())
    return RecordedCompile{};
  RecordedCompile result;
  result.used = true;
  // Every started command is waited for, also after a failure: the first failure is what is
  // reported (a compiler error as such, anything else as an error naming the log).
  std::optional<Error> failure;
  std::vector<std::pair<Job *, Running>> running;
  auto finish = [&](std::pair<Job *, Running> &r) {
    int status = wait(r.second);
    Job &j = *r.first;
    if (status == 0) {
      j.unit->patched_by_recorded_command = true;
      return;
    }
    auto e = compile_error_in(j.log, tree.patched_src(), j.unit->object + ": the recorded kbuild command failed",
                              status);
    if (!e) {
      if (!failure)
        failure = std::move(e).take_error();
    } else if (!result.error) {
      e->object = j.unit->object;
      result.error = std::move(*e);
    }
  };
  for (Job &j : todo) {
    if (failure)
      break;
    std::error_code ec;
    fs::remove(j.log, ec);
    // sh runs the command as kbuild's shell would, then fixdep into a temporary .cmd that is
    // renamed into place: an interrupted compile leaves no object and no .cmd behind.
    std::string cmdfile = cmd_file(tree.patched_obj(), j.unit->object);
    Command c;
    c.argv = {"/bin/sh", "-c",
              "set -e; rm -f \"$2\" \"$3\"; echo \"  RECORDED $2\"; eval \"$1\"; "
              "scripts/basic/fixdep \"$4\" \"$2\" \"$1\" > \"$3.tmp\"; mv \"$3.tmp\" \"$3\"; rm -f \"$4\"",
              "sh", j.cmd, j.unit->object, fs::relative(cmdfile, tree.patched_obj()).string(), j.depfile};
    c.cwd = tree.patched_obj();
    c.log = j.log;
    progress.note(fmt::format("{}: compiling the patched side with the original's recorded kbuild command (no make)",
                              j.unit->object));
    auto r = start(c);
    if (!r) {
      failure = r.error();
      break;
    }
    running.emplace_back(&j, std::move(*r));
    if (static_cast<int>(running.size()) >= std::max(1, jobs)) {
      finish(running.front());
      running.erase(running.begin());
    }
  }
  for (auto &r : running)
    finish(r);
  if (failure)
    return std::move(*failure);
  return result;
}

Expected<std::optional<CompileError>> compile_units(const PreparedTree &tree, std::vector<Unit> &units, int jobs,
                                                    const std::string &logdir, Progress &progress,
                                                    const OriginalCache *cache) {
  std::vector<std::string> objects;
  for (const Unit &u : units)
    if (u.not_built.empty())
      objects.push_back(u.object);
  if (objects.empty())
    return std::optional<CompileError>();
  // kbuild's single-object targets resolve some directories in the wrong Makefile's context:
  // arch/x86/lib is reached through the arch Makefile's libs-y, so `make arch/x86/lib/inat.o`
  // runs with obj=arch/x86, misses the rule that generates inat-tables.c, and, with -j2 or
  // more, compiles other arch/x86/lib objects twice at once. Objects under a lib/ directory
  // are therefore built one job at a time, and when the *original* units cannot be built
  // alone, the units' directories are built instead (`make arch/x86/lib/`), which kbuild
  // always gets right, with every job: a directory like fs/ or net/ipv6/ is minutes of work.
  bool lib_units = false;
  for (const std::string &o : objects)
    lib_units |= o.rfind("lib/", 0) == 0 || o.find("/lib/") != std::string::npos;
  int per_tree = std::max(1, jobs / 2);
  // A unit that only includes a changed file has an up-to-date patched object from an
  // earlier build when that build changed the same header: the header is pristine again
  // (an older mtime), so make would keep the object. It must be compiled again.
  for (const Unit &u : units)
    if (u.not_built.empty() && !u.changed_by_patch()) {
      std::error_code ec;
      fs::remove(fs::path(tree.patched_obj()) / u.object, ec);
      fs::remove(cmd_file(tree.patched_obj(), u.object), ec);
    }
  Command orig, patched;
  bool confirming = std::any_of(units.begin(), units.end(), [](const Unit &u) { return !u.confirm.empty(); });
  if (confirming)
    return compile_confirming(tree, units, objects, lib_units ? 1 : per_tree, logdir, progress);
  // Units found through the include graph are not looked up: compile_confirming judges each
  // by what kbuild makes of it in this very build.
  std::map<std::string, std::string> misses;
  std::vector<std::string> orig_objects;
  if (cache) {
    auto m = restore_originals(*cache, units, progress);
    if (!m)
      return std::move(m).take_error();
    misses = std::move(*m);
    for (const auto &[object, key] : misses)
      orig_objects.push_back(object);
  }
  // With every original cached, the patched side alone is left: by its recorded command when
  // it can (compile_recorded), else the patched tree's make runs alone with every job.
  if (cache && orig_objects.empty() && !lib_units) {
    auto rec = compile_recorded(tree, units, std::max(1, jobs), logdir, progress);
    if (!rec)
      return std::move(rec).take_error();
    if (rec->used) {
      if (rec->error)
        return rec->error;
      if (auto m = read_memberships(tree.orig_obj(), units); !m)
        return std::move(m).take_error();
      return std::optional<CompileError>();
    }
  }
  int patched_jobs = cache && orig_objects.empty() ? std::max(1, jobs) : per_tree;
  auto r = make_both(tree, objects, lib_units ? 1 : patched_jobs, logdir, "", progress, orig, patched, {},
                     cache ? &orig_objects : nullptr);
  if (!r)
    return std::move(r).take_error();
  if (cache && r->first == 0)
    store_originals(*cache, misses, progress);
  // The original units compiled alone, the patched ones did not: the patch does not compile
  // (a missing header, a typo). Report the compiler's error now, with no retry: a directory
  // build would fail the same way, minutes later.
  auto patch_error = [&](int status) -> Expected<std::optional<CompileError>> {
    auto e = compile_error_in(patched.log, tree.patched_src(), "the patched source does not compile", status);
    if (!e)
      return std::move(e).take_error();
    return std::optional(std::move(*e));
  };
  // ...unless what is missing is a file kbuild generates in the object tree (arch/x86/lib's
  // inat-tables.c, once the original tree has it from an earlier directory build, is missing
  // only from the patched tree's single-object build): that is kbuild, not the patch.
  auto generated_missing = [&] {
    auto text = read_text_file(patched.log);
    auto e = text ? first_compile_error(*text, tree.patched_src()) : std::nullopt;
    static const std::string nsf = ": No such file or directory";
    if (!e || !e->message.starts_with("fatal error: ") || !e->message.ends_with(nsf))
      return false;
    std::string missing = e->message.substr(13, e->message.size() - 13 - nsf.size());
    std::string dir = fs::path(e->file).parent_path().string();
    return fs::exists(fs::path(tree.orig_obj()) / dir / missing) || fs::exists(fs::path(tree.orig_obj()) / missing);
  };
  if (r->first == 0 && r->second != 0 && !generated_missing())
    return patch_error(r->second);
  if (r->first != 0 || r->second != 0) {
    std::set<std::string> dirs;
    for (const std::string &o : objects)
      dirs.insert(o.substr(0, o.rfind('/') + 1));
    progress.note("the units cannot be built alone; building the units' directories instead: " +
                  fmt::format("{}", fmt::join(dirs, " ")));
    r = make_both(tree, std::vector<std::string>(dirs.begin(), dirs.end()), per_tree, logdir, "-dirs", progress, orig,
                  patched);
    if (!r)
      return std::move(r).take_error();
    if (cache && r->first == 0)
      store_originals(*cache, misses, progress);
    if (r->first == 0 && r->second != 0)
      return patch_error(r->second);
  }
  if (r->first != 0)
    return make_error(Location(orig.log), fmt::format("compiling the original units failed (exit {}): the source tree "
                                                      "or configuration is broken:\n{}",
                                                      r->first, log_tail(orig.log)));
  if (auto m = read_memberships(tree.orig_obj(), units); !m)
    return std::move(m).take_error();
  return std::optional<CompileError>();
}

Expected<std::optional<std::pair<SymverCrcs, SymverCrcs>>>
unit_symver_crcs(const std::string &orig_objtree, const std::string &patched_objtree, const std::string &object) {
  auto orig = diff::read_symver_crcs(cmd_file(orig_objtree, object));
  if (!orig)
    return std::move(orig).take_error();
  auto patched = diff::read_symver_crcs(cmd_file(patched_objtree, object));
  if (!patched)
    return std::move(patched).take_error();
  if (orig->empty() && patched->empty())
    return std::optional<std::pair<SymverCrcs, SymverCrcs>>();
  return std::optional(std::make_pair(std::move(*orig), std::move(*patched)));
}

} // namespace kpg::build
