// SPDX-License-Identifier: GPL-2.0-only
#include "builder/original_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <sstream>

#include "builder/kbuild.h"
#include "builder/tree.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

static constexpr const char *kEntryMagic = "kpatch-gen original object v1";

static std::string sha256_of(const std::string &s) {
  return sha256_hex(std::span<const u8>(reinterpret_cast<const u8 *>(s.data()), s.size()));
}

std::string original_key(const OriginalKeyInputs &in) {
  // Length-prefixed fields: no two different inputs give the same text.
  std::string text = kEntryMagic;
  auto add = [&](const char *name, const std::string &value) {
    text += fmt::format("\n{} {} {}", name, value.size(), value);
  };
  add("tree", in.tree_key);
  for (const std::string &v : in.make_vars)
    add("make_var", v);
  add("toolchain", in.toolchain);
  add("object", in.object);
  for (const auto &[path, hash] : in.kbuild_files)
    add("kbuild_file", path + " " + hash);
  return sha256_of(text);
}

std::vector<std::string> kbuild_files_of(const std::string &object) {
  std::vector<std::string> files{"Makefile", "arch/x86/Makefile", "scripts/Kbuild.include"};
  fs::path dir;
  for (const fs::path &part : fs::path(object).parent_path()) {
    dir /= part;
    files.push_back((dir / "Makefile").string());
    files.push_back((dir / "Kbuild").string());
  }
  return files;
}

std::vector<std::string> cmd_prerequisites(const std::string &cmd_text, const std::string &objtree) {
  std::set<std::string> out;
  auto add = [&](std::string p) {
    if (p.empty())
      return;
    if (p[0] != '/')
      p = objtree + "/" + p;
    out.insert(fs::path(p).lexically_normal().string());
  };
  std::istringstream in(cmd_text);
  std::string line;
  bool in_deps = false;
  static const std::string wildcard = "$(wildcard ";
  while (std::getline(in, line)) {
    if (in_deps && (line.empty() || line[0] != ' '))
      in_deps = false;
    if (line.rfind("source_", 0) == 0) {
      // source_fs/proc/meminfo.o := /src/fs/proc/meminfo.c
      size_t k = line.find(" := ");
      if (k != std::string::npos)
        add(line.substr(k + 4));
      continue;
    }
    if (line.rfind("deps_", 0) == 0) {
      in_deps = true;
      continue;
    }
    if (in_deps) {
      std::istringstream toks(line);
      std::string tok;
      bool in_wildcard = false;
      while (toks >> tok) {
        if (tok == "\\")
          continue;
        if (tok == "$(wildcard") {
          in_wildcard = true;
          continue;
        }
        if (in_wildcard && tok.ends_with(")")) {
          tok.pop_back();
          in_wildcard = false;
        }
        add(tok);
      }
      continue;
    }
    // fs/proc/meminfo.o: $(wildcard ./tools/objtool/objtool)
    size_t w = line.find(": " + wildcard);
    if (w != std::string::npos && line.back() == ')' && line.rfind("cmd_", 0) != 0) {
      std::istringstream toks(line.substr(w + 2 + wildcard.size(), line.size() - w - 3 - wildcard.size()));
      std::string tok;
      while (toks >> tok)
        add(tok);
    }
  }
  return {out.begin(), out.end()};
}

std::string content_hash(const std::string &path) {
  auto bytes = read_file(path);
  return bytes ? sha256_hex(*bytes) : "absent";
}

OriginalCache::OriginalCache(std::string dir, OriginalKeyInputs base, std::string srctree, std::string objtree,
                             u64 limit_bytes)
    : dir_(std::move(dir)), base_(std::move(base)), srctree_(std::move(srctree)), objtree_(std::move(objtree)),
      limit_(limit_bytes) {
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(srctree_ + "/scripts", ec))
    if (e.path().filename().string().starts_with("Makefile"))
      scripts_makefiles_.push_back("scripts/" + e.path().filename().string());
  std::sort(scripts_makefiles_.begin(), scripts_makefiles_.end());
}

OriginalCache OriginalCache::for_tree(std::string dir, const PreparedTree &tree, std::string toolchain) {
  OriginalKeyInputs base;
  base.tree_key = tree.key();
  base.make_vars = tree.make_vars();
  base.toolchain = std::move(toolchain);
  return OriginalCache(std::move(dir), std::move(base), tree.kernel_src(), tree.orig_obj());
}

std::string OriginalCache::key(const std::string &object) const {
  OriginalKeyInputs in = base_;
  in.object = object;
  std::vector<std::string> files = kbuild_files_of(object);
  files.insert(files.end(), scripts_makefiles_.begin(), scripts_makefiles_.end());
  for (const std::string &f : files)
    in.kbuild_files.emplace_back(f, content_hash(srctree_ + "/" + f));
  return original_key(in);
}

namespace {
struct Entry {
  std::string object_hash, cmd_hash;
  std::vector<std::pair<std::string, std::string>> files; // (path, hash)
};
} // namespace

static std::optional<Entry> parse_entry(const std::string &text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kEntryMagic)
    return std::nullopt;
  Entry e;
  while (std::getline(in, line)) {
    if (line.rfind("object ", 0) == 0) {
      e.object_hash = line.substr(7);
    } else if (line.rfind("cmd ", 0) == 0) {
      e.cmd_hash = line.substr(4);
    } else if (line.rfind("file ", 0) == 0) {
      size_t sp = line.find(' ', 5);
      if (sp == std::string::npos)
        return std::nullopt;
      e.files.emplace_back(line.substr(sp + 1), line.substr(5, sp - 5));
    } else {
      return std::nullopt;
    }
  }
  if (e.object_hash.empty() || e.cmd_hash.empty() || e.files.empty())
    return std::nullopt;
  return e;
}

// Writes `bytes` to `path` unless it already has them (the mtime kbuild compares stays).
static Expected<void> put_if_different(const std::string &path, const std::vector<u8> &bytes) {
  if (auto have = read_file(path); have && *have == bytes)
    return {};
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  return write_file_atomic(path, bytes);
}

Expected<OriginalCache::Lookup> OriginalCache::restore(const std::string &key, const std::string &object) const {
  std::string base = dir_ + "/" + key;
  auto text = read_text_file(base + ".entry");
  if (!text)
    return Lookup{false, "not in the cache"};
  auto e = parse_entry(*text);
  if (!e)
    return Lookup{false, "unreadable cache entry"};
  for (const auto &[path, hash] : e->files)
    if (content_hash(path) != hash) {
      std::string shown = path;
      for (const std::string &root : {srctree_, objtree_})
        if (shown.rfind(root + "/", 0) == 0)
          shown = shown.substr(root.size() + 1);
      return Lookup{false, shown + " changed since it was cached"};
    }
  auto obj = read_file(base + ".o");
  auto cmd = read_file(base + ".cmd");
  if (!obj || !cmd || sha256_hex(*obj) != e->object_hash || sha256_hex(*cmd) != e->cmd_hash)
    return Lookup{false, "cache entry being replaced or damaged"};
  if (auto w = put_if_different(cmd_file(objtree_, object), *cmd); !w)
    return std::move(w).take_error();
  if (auto w = put_if_different(objtree_ + "/" + object, *obj); !w)
    return std::move(w).take_error();
  ::utimensat(AT_FDCWD, (base + ".entry").c_str(), nullptr, 0); // recently used
  return Lookup{true, {}};
}

Expected<void> OriginalCache::store(const std::string &key, const std::string &object) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return make_error(Location(dir_), "cannot create cache directory: " + ec.message());
  auto obj = read_file(objtree_ + "/" + object);
  if (!obj)
    return std::move(obj).take_error();
  auto cmd = read_text_file(cmd_file(objtree_, object));
  if (!cmd)
    return std::move(cmd).take_error();
  std::string entry = fmt::format("{}\nobject {}\ncmd {}\n", kEntryMagic, sha256_hex(*obj), sha256_of(*cmd));
  std::vector<std::string> files = cmd_prerequisites(*cmd, objtree_);
  if (files.empty())
    return make_error(Location(cmd_file(objtree_, object)), "no source or dependency list: not kbuild's .cmd file");
  for (const std::string &f : files)
    entry += fmt::format("file {} {}\n", content_hash(f), f);
  auto lock = FileLock::acquire(dir_ + "/lock", [] {});
  if (!lock)
    return std::move(lock).take_error();
  std::string base = dir_ + "/" + key;
  if (auto w = write_file_atomic(base + ".o", *obj); !w)
    return w;
  if (auto w = write_text_file_atomic(base + ".cmd", *cmd); !w)
    return w;
  if (auto w = write_text_file_atomic(base + ".entry", entry); !w)
    return w;
  evict(key);
  return {};
}

void OriginalCache::evict(const std::string &keep) const {
  struct Item {
    fs::file_time_type used;
    std::string base;
    u64 bytes;
  };
  std::vector<Item> items;
  u64 total = 0;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".entry")
      continue;
    std::string base = (e.path().parent_path() / e.path().stem()).string();
    u64 bytes = 0;
    for (const char *ext : {".o", ".cmd", ".entry"}) {
      std::error_code sec;
      auto n = fs::file_size(base + ext, sec);
      bytes += sec ? 0 : n;
    }
    items.push_back({e.last_write_time(ec), base, bytes});
    total += bytes;
  }
  if (total <= limit_)
    return;
  std::sort(items.begin(), items.end(), [](const Item &a, const Item &b) { return a.used < b.used; });
  for (size_t i = 0; i < items.size() && total > limit_; i++) {
    if (fs::path(items[i].base).filename() == keep) // the entry just stored stays
      continue;
    for (const char *ext : {".entry", ".o", ".cmd"})
      fs::remove(items[i].base + ext, ec);
    total -= items[i].bytes;
  }
}

} // namespace kpg::build
