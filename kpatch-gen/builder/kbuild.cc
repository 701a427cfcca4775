// SPDX-License-Identifier: GPL-2.0-only
#include "builder/kbuild.h"

#include <filesystem>
#include <set>
#include <fmt/format.h>
#include <regex>
#include <sstream>

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
      if (tok.rfind(srctree + "/", 0) == 0)
        deps.push_back(tok.substr(srctree.size() + 1));
      else if (tok[0] != '/')
        deps.push_back(tok); // objtree-relative (generated) or in-tree relative build
    }
  }
}

Expected<BuildDeps> BuildDeps::load(const std::string &build_dir) {
  BuildDeps d;
  d.dir_ = build_dir;
  std::error_code ec;
  fs::path src = fs::read_symlink(fs::path(build_dir) / "source", ec);
  d.srctree_ = ec ? fs::canonical(build_dir, ec).string() : src.string();
  if (!fs::exists(fs::path(build_dir) / "Module.symvers") && !fs::exists(fs::path(build_dir) / "vmlinux.o"))
    return make_error(Location(build_dir), "not the directory of a full kernel build (no vmlinux.o or Module.symvers)");
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
    auto text = read_text_file(p.string());
    if (!text)
      continue;
    std::string object;
    std::vector<std::string> deps;
    parse_cmd(*text, d.srctree_, object, deps);
    if (object.empty() || object.ends_with(".mod.o") || object == "vmlinux.o")
      continue;
    d.objects_.insert(object);
    for (const std::string &dep : deps)
      d.users_[dep].push_back(object);
  }
  if (d.objects_.empty())
    return make_error(Location(build_dir), "no kbuild dependency files (.*.o.cmd) found");
  return d;
}

std::vector<std::string> BuildDeps::dependents(const std::string &path) const {
  auto it = users_.find(path);
  return it == users_.end() ? std::vector<std::string>{} : it->second;
}

Expected<std::vector<Unit>> affected_units(const std::vector<PatchedFile> &files, const BuildDeps *deps) {
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
          units.emplace(obj, Unit{f.path, obj, "changed by the patch", "", "",
                                  fmt::format("the full build {} has no {}", deps->dir(), obj)});
          continue;
        }
        for (const std::string &u : users)
          units.emplace(u, Unit{u.substr(0, u.size() - 2) + ".c", u, "includes " + f.path + " (changed)", "", "", ""});
        continue;
      }
      units.emplace(obj, Unit{f.path, obj, "changed by the patch", "", "", ""});
      if (deps)
        for (const std::string &u : deps->dependents(f.path))
          if (u != obj)
            units.emplace(u, Unit{u.substr(0, u.size() - 2) + ".c", u, "includes " + f.path + " (changed)", "", "", ""});
    } else if (is_c && f.created) {
      problems.push_back(f.path + ": a new source file needs a Makefile change, which a live patch cannot carry; put "
                                  "the new code into an existing file");
    } else if (is_h) {
      if (!deps) {
        problems.push_back(f.path + ": a changed header affects every unit that includes it; give the directory of a "
                                    "full build of this kernel with --kernel-build so its dependency lists can be used");
        continue;
      }
      for (const std::string &u : deps->dependents(f.path))
        units.emplace(u, Unit{u.substr(0, u.size() - 2) + ".c", u, "includes " + f.path + " (changed)", "", "", ""});
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

// kbuild's record of how it built `object` in `objtree`: fs/proc/.cmdline.o.cmd.
static std::string cmd_file(const std::string &objtree, const std::string &object) {
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
static Expected<std::pair<int, int>> make_both(const PreparedTree &tree, const std::vector<std::string> &targets,
                                               int jobs, const std::string &logdir, const std::string &suffix,
                                               Progress &progress, Command &orig, Command &patched) {
  auto make = [&](const std::string &src, const std::string &obj, const std::string &log) {
    Command c;
    c.argv = {"make", "-C", src, "O=" + obj, fmt::format("-j{}", jobs)};
    for (const std::string &v : tree.make_vars())
      c.argv.push_back(v);
    c.argv.insert(c.argv.end(), targets.begin(), targets.end());
    c.log = log;
    std::error_code ec;
    fs::remove(log, ec);
    return c;
  };
  orig = make(tree.kernel_src(), tree.orig_obj(), logdir + "/compile-orig" + suffix + ".log");
  patched = make(tree.patched_src(), tree.patched_obj(), logdir + "/compile-patched" + suffix + ".log");
  progress.note(command_line(patched));
  auto ro = start(orig);
  if (!ro)
    return std::move(ro).take_error();
  auto rp = start(patched);
  if (!rp) {
    wait(*ro);
    return std::move(rp).take_error();
  }
  int so = wait(*ro);
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

Expected<std::optional<CompileError>> compile_units(const PreparedTree &tree, std::vector<Unit> &units, int jobs,
                                                    const std::string &logdir, Progress &progress) {
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
  Command orig, patched;
  auto r = make_both(tree, objects, lib_units ? 1 : per_tree, logdir, "", progress, orig, patched);
  if (!r)
    return std::move(r).take_error();
  // The original units compiled alone, the patched ones did not: the patch does not compile
  // (a missing header, a typo). Report the compiler's error now, with no retry: a directory
  // build would fail the same way, minutes later.
  auto patch_error = [&](int status) -> Expected<std::optional<CompileError>> {
    auto text = read_text_file(patched.log);
    std::optional<CompileError> e = text ? first_compile_error(*text, tree.patched_src()) : std::nullopt;
    if (!e)
      return make_error(Location(patched.log), fmt::format("the patched source does not compile (exit {}):\n{}", status,
                                                           log_tail(patched.log)));
    e->log = patched.log;
    return e;
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
    if (r->first == 0 && r->second != 0)
      return patch_error(r->second);
  }
  if (r->first != 0)
    return make_error(Location(orig.log), fmt::format("compiling the original units failed (exit {}): the source tree "
                                                      "or configuration is broken:\n{}",
                                                      r->first, log_tail(orig.log)));
  for (Unit &u : units)
    if (u.not_built.empty())
      if (auto m = read_membership(tree.orig_obj(), u); !m)
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
