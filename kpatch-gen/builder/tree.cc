// SPDX-License-Identifier: GPL-2.0-only
#include "builder/tree.h"

#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "builder/process.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

static constexpr const char *kLayoutVersion = "kpatch-gen prepared tree v1";

static std::string kernel_version(const std::string &src) {
  auto mk = read_text_file(src + "/Makefile");
  if (!mk)
    return {};
  std::string v;
  std::istringstream in(*mk);
  std::string line;
  for (int i = 0; i < 8 && std::getline(in, line); i++)
    if (line.rfind("VERSION", 0) == 0 || line.rfind("PATCHLEVEL", 0) == 0 || line.rfind("SUBLEVEL", 0) == 0 ||
        line.rfind("EXTRAVERSION", 0) == 0)
      v += line + ";";
  return v;
}

static bool same_file_contents(const std::string &a, const std::string &b) {
  auto x = read_file(a), y = read_file(b);
  return x && y && *x == *y;
}

static Expected<void> copy_if_different(const std::string &from, const std::string &to) {
  if (same_file_contents(from, to))
    return {};
  auto bytes = read_file(from);
  if (!bytes)
    return std::move(bytes).take_error();
  return write_file_atomic(to, *bytes);
}

// The headers patch authors include: kpatch-gen.h, and kpatch-macros.h / kpatch-syscall.h
// so that patches written for kpatch build unchanged (they map onto kpatch-gen.h).
static Expected<void> copy_author_headers(const std::string &templates_dir, const std::string &include_dir) {
  for (const char *h : {"kpatch-gen.h", "kpatch-macros.h", "kpatch-syscall.h"})
    if (auto c = copy_if_different(templates_dir + "/include/" + h, include_dir + "/" + h); !c)
      return c;
  return {};
}

std::string PreparedTree::kcflags() const { return "-ffunction-sections -fdata-sections -I" + include_dir(); }

std::vector<std::string> PreparedTree::make_vars() const {
  std::vector<std::string> v{"KCFLAGS=" + kcflags(), "KERNELRELEASE=" + release_};
  if (cc_ != "gcc")
    v.push_back("CC=" + cc_);
  return v;
}

Expected<PreparedTree> PreparedTree::open(const TreeInputs &in, Progress &progress) {
  PreparedTree t;
  std::error_code ec;
  t.src_ = fs::canonical(in.kernel_src, ec).string();
  if (ec || !fs::exists(t.src_ + "/Makefile") || !fs::exists(t.src_ + "/kernel/livepatch"))
    return make_error(Location(in.kernel_src), "not a Linux source tree (no Makefile or kernel/livepatch/)");
  if (fs::exists(t.src_ + "/.config") || fs::exists(t.src_ + "/include/config"))
    return make_error(Location(in.kernel_src),
                      "the source tree has been configured or built in place; kbuild cannot use it with O= "
                      "(run 'make mrproper' there or point --kernel-src at a pristine tree)");
  auto config = read_file(in.config);
  if (!config)
    return std::move(config).take_error();
  auto cc = capture({in.cc, "--version"});
  if (!cc)
    return make_error(Location(in.config), fmt::format("the configuration was made with compiler '{}', which cannot "
                                                       "be run here: {}",
                                                       in.cc, cc.error().message));
  t.compiler_ = *cc;
  t.cc_ = in.cc;
  t.release_ = in.release;
  std::string id = std::string(kLayoutVersion) + "\n" + t.src_ + "\n" + kernel_version(t.src_) + "\n" + t.compiler_ +
                   "\n" + t.release_ + "\n";
  std::vector<u8> keybytes(id.begin(), id.end());
  keybytes.insert(keybytes.end(), config->begin(), config->end());
  t.key_ = sha256_hex(keybytes).substr(0, 16);
  std::string root = in.cache_root + "/prep";
  fs::create_directories(root, ec);
  if (ec)
    return make_error(Location(root), "cannot create cache directory: " + ec.message());
  t.dir_ = root + "/" + t.key_;
  auto lock = FileLock::acquire(t.dir_ + ".lock",
                                [&] { progress.note("waiting for another kpatch-gen build using " + t.dir_); });
  if (!lock)
    return std::move(lock).take_error();
  t.lock_ = std::move(*lock);
  if (fs::exists(t.dir_ + "/complete")) {
    t.cached_ = true;
  } else {
    if (auto p = t.prepare(in, progress); !p)
      return std::move(p).take_error();
  }
  // The target's exports and the author header may change without changing the key.
  if (!in.symvers.empty()) {
    for (const std::string &obj : {t.orig_obj(), t.patched_obj()})
      if (auto c = copy_if_different(in.symvers, obj + "/Module.symvers"); !c)
        return std::move(c).take_error();
  }
  if (auto c = copy_author_headers(in.templates_dir, t.include_dir()); !c)
    return std::move(c).take_error();
  if (auto r = t.restore_from_dirty_list(); !r)
    return std::move(r).take_error();
  return t;
}

Expected<void> PreparedTree::prepare(const TreeInputs &in, Progress &progress) {
  std::error_code ec;
  if (fs::exists(dir_)) {
    progress.note("removing an incomplete prepared tree left by an interrupted build: " + dir_);
    fs::remove_all(dir_, ec);
  }
  fs::create_directories(orig_obj(), ec);
  fs::create_directories(include_dir(), ec);
  fs::create_directories(module_dir(), ec);
  if (ec)
    return make_error(Location(dir_), "cannot create: " + ec.message());
  if (auto c = copy_if_different(in.config, orig_obj() + "/.config"); !c)
    return c;
  if (auto c = copy_author_headers(in.templates_dir, include_dir()); !c)
    return c;
  progress.note("hard-linking the source tree into " + patched_src());
  {
    Command c;
    c.argv = {"cp", "-al", src_, patched_src()};
    c.log = dir_ + "/prepare.log";
    if (auto rc = run(c); !rc || *rc != 0)
      return make_error(Location(patched_src()), "cannot make the hard-link copy of the source tree (the cache must be "
                                                 "on the same file system as the source): see " + c.log);
  }
  fs::create_directories(patched_obj(), ec);
  if (auto c = copy_if_different(in.config, patched_obj() + "/.config"); !c)
    return c;
  // Both O= directories are prepared by kbuild itself: a copy of orig-obj would not do,
  // because kbuild records the source path in every command line and rebuilds host tools and
  // generated headers when it changes.
  auto make = [&](const std::string &src, const std::string &obj, const std::string &log, int jobs,
                  std::vector<std::string> targets) {
    Command c;
    c.argv = {"make", "-C", src, "O=" + obj, fmt::format("-j{}", jobs)};
    for (const std::string &v : make_vars())
      c.argv.push_back(v);
    c.argv.insert(c.argv.end(), targets.begin(), targets.end());
    c.log = log;
    return c;
  };
  auto run_pair = [&](std::vector<std::string> targets) -> Expected<void> {
    int half = std::max(1, in.jobs / 2);
    Command o = make(src_, orig_obj(), dir_ + "/prepare-orig.log", half, targets);
    Command p = make(patched_src(), patched_obj(), dir_ + "/prepare-patched.log", half, targets);
    auto ro = start(o);
    if (!ro)
      return std::move(ro).take_error();
    auto rp = start(p);
    int so = wait(*ro);
    int sp = rp ? wait(*rp) : 127;
    for (const auto &[cmd, status] : {std::pair<const Command &, int>{o, so}, {p, sp}})
      if (status != 0)
        return make_error(Location(cmd.log), fmt::format("'{}' failed (exit {}):\n{}", command_line(cmd), status,
                                                         log_tail(cmd.log)));
    return {};
  };
  progress.note("configuring the original and patched object trees (olddefconfig)");
  if (auto m = run_pair({"olddefconfig"}); !m)
    return m;
  if (!same_file_contents(in.config, orig_obj() + "/.config"))
    progress.note("note: 'make olddefconfig' changed the configuration: " + in.config +
                  " was not made for this source tree; the target kernel may not match");
  progress.note("running kbuild's prepare steps in both trees (generated headers, objtool, modpost); logs: " + dir_ +
                "/prepare-*.log");
  if (auto m = run_pair({"prepare", "modules_prepare"}); !m)
    return m;
  return write_text_file_atomic(dir_ + "/complete", kLayoutVersion);
}

Expected<void> PreparedTree::restore_from_dirty_list() {
  std::string list = dir_ + "/dirty";
  auto text = read_text_file(list);
  if (!text)
    return {}; // nothing to restore
  std::istringstream in(*text);
  std::string path;
  while (std::getline(in, path)) {
    if (path.empty())
      continue;
    std::error_code ec;
    std::string pristine = src_ + "/" + path, copy = patched_src() + "/" + path;
    fs::remove(copy, ec);
    for (const char *junk : {".orig", ".rej"})
      fs::remove(copy + junk, ec);
    if (fs::exists(pristine)) {
      fs::create_directories(fs::path(copy).parent_path(), ec);
      fs::create_hard_link(pristine, copy, ec);
      if (ec)
        return make_error(Location(copy), "cannot restore the pristine file: " + ec.message());
    }
    if (path.size() > 2 && path.ends_with(".c")) {
      std::string obj = path.substr(0, path.size() - 2) + ".o";
      fs::path o = fs::path(patched_obj()) / obj;
      fs::remove(o, ec);
      fs::remove(o.parent_path() / ("." + o.filename().string() + ".cmd"), ec);
    }
  }
  std::error_code ec;
  fs::remove(list, ec);
  return {};
}

Expected<void> PreparedTree::restore() { return restore_from_dirty_list(); }

Expected<std::vector<HunkPlacement>> PreparedTree::apply_patches(const std::vector<PatchInfo> &patches,
                                                                 const std::vector<std::string> &files, u32 fuzz) {
  if (auto r = restore_from_dirty_list(); !r)
    return std::move(r).take_error();
  std::string list;
  for (const std::string &f : files)
    list += f + "\n";
  // Written before patching: if we die half way, the next build restores these files.
  if (auto w = write_text_file_atomic(dir_ + "/dirty", list); !w)
    return std::move(w).take_error();
  std::vector<HunkPlacement> moved;
  for (const PatchInfo &p : patches) {
    auto a = apply_patch(patched_src(), p, fuzz, dir_ + "/patch.log");
    if (!a) {
      (void)restore_from_dirty_list();
      Error e = std::move(a).take_error();
      if (&p != &patches.front())
        e.message += "\n  (the patches before it on the command line were applied first)";
      return e;
    }
    moved.insert(moved.end(), a->begin(), a->end());
  }
  return moved;
}

} // namespace kpg::build
