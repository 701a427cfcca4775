// SPDX-License-Identifier: GPL-2.0-only
#include "builder/includes.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "builder/tree.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

namespace {

// Bumped when the scan or the file format changes: old cache files are then ignored.
constexpr const char *kGraphVersion = "kpg-include-graph 1";

// The x86 kernel's include path (scripts/Makefile + arch/x86/Makefile: LINUXINCLUDE), in
// kbuild's order. Generated directories live in the object tree and were scanned under
// their own names.
const char *const kIncludePath[] = {
    "arch/x86/include",       "arch/x86/include/generated", "include",     "include/generated",
    "arch/x86/include/uapi",  "arch/x86/include/generated/uapi", "include/uapi", "include/generated/uapi",
};

// Top-level directories that hold no kernel unit of an x86 build: user-space tools, build
// scripts, documentation, sample modules (built only with CONFIG_SAMPLES, and then by
// their own rules), the initramfs tooling, Debian's packaging.
bool skipped_top(const std::string &name) {
  return name == "tools" || name == "scripts" || name == "Documentation" || name == "samples" || name == "usr" ||
         name == "debian" || name[0] == '.';
}

bool source_like(const std::string &name) {
  return name.ends_with(".c") || name.ends_with(".h") || name.ends_with(".S");
}

} // namespace

std::vector<std::pair<char, std::string>> scan_includes(std::string_view text) {
  std::vector<std::pair<char, std::string>> out;
  size_t i = 0, n = text.size();
  while (i < n) {
    // At a line start: optional blanks, '#', optional blanks, "include" or "include_next".
    size_t p = i;
    while (p < n && (text[p] == ' ' || text[p] == '\t'))
      p++;
    if (p < n && text[p] == '#') {
      p++;
      while (p < n && (text[p] == ' ' || text[p] == '\t'))
        p++;
      if (text.compare(p, 7, "include") == 0) {
        p += 7;
        if (text.compare(p, 5, "_next") == 0)
          p += 5;
        while (p < n && (text[p] == ' ' || text[p] == '\t'))
          p++;
        if (p < n && (text[p] == '<' || text[p] == '"')) {
          char open = text[p];
          char close = open == '<' ? '>' : '"';
          size_t e = p + 1;
          while (e < n && text[e] != close && text[e] != '\n')
            e++;
          if (e < n && text[e] == close && e > p + 1)
            out.emplace_back(open, std::string(text.substr(p + 1, e - p - 1)));
        }
      }
    }
    size_t nl = text.find('\n', i);
    i = nl == std::string_view::npos ? n : nl + 1;
  }
  return out;
}

void IncludeGraph::add(const std::string &file, std::vector<std::string> deps) {
  edges_[file] = std::move(deps);
  index();
}

void IncludeGraph::index() {
  users_.clear();
  for (const auto &[file, deps] : edges_)
    for (const std::string &d : deps)
      users_[d].push_back(file);
}

Expected<IncludeGraph> IncludeGraph::scan(const std::string &srctree, const std::string &objtree) {
  // Pass 1: every candidate file and its raw directives.
  std::map<std::string, std::vector<std::pair<char, std::string>>> raw;
  std::error_code ec;
  auto walk = [&](const fs::path &root, const std::string &prefix, bool top_filter) -> Expected<void> {
    if (!fs::is_directory(root, ec))
      return {};
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    if (ec)
      return make_error(Location(root.string()), "cannot read the source tree: " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec)
        return make_error(Location(root.string()), "cannot read the source tree: " + ec.message());
      std::string name = it->path().filename().string();
      if (it->is_directory(ec)) {
        if (top_filter && it.depth() == 0 && skipped_top(name))
          it.disable_recursion_pending();
        // Other architectures: arch/arm64 never builds into an x86 kernel.
        if (top_filter && it.depth() == 1 && it->path().parent_path().filename() == "arch" && name != "x86")
          it.disable_recursion_pending();
        continue;
      }
      if (!source_like(name) || !it->is_regular_file(ec))
        continue;
      auto text = read_text_file(it->path().string());
      if (!text)
        continue; // unreadable: nothing we could resolve anyway
      std::string rel = prefix + fs::relative(it->path(), root).string();
      raw[rel] = scan_includes(*text);
    }
    return {};
  };
  if (auto w = walk(srctree, "", true); !w)
    return std::move(w).take_error();
  if (!objtree.empty())
    for (const char *gen : {"include/generated", "arch/x86/include/generated"})
      if (auto w = walk(fs::path(objtree) / gen, std::string(gen) + "/", false); !w)
        return std::move(w).take_error();
  if (raw.empty())
    return make_error(Location(srctree), "no C sources or headers found: not a kernel source tree");
  // Pass 2: resolve against the files found.
  IncludeGraph g;
  for (auto &[file, directives] : raw) {
    std::vector<std::string> &deps = g.edges_[file];
    std::string dir = fs::path(file).parent_path().string();
    for (const auto &[open, name] : directives) {
      bool found = false;
      if (open == '"') {
        std::string local = (fs::path(dir) / name).lexically_normal().string();
        if (raw.count(local)) {
          deps.push_back(local);
          found = true;
        }
      }
      if (found)
        continue;
      // Every match on the include path, not only the first: #include_next continues the
      // search past the includer's own directory (arch/x86/include/asm/... has none, but
      // include/uapi/linux/ and include/linux/ do), and an extra edge only adds a candidate
      // that compiling then rules out.
      for (const char *inc : kIncludePath) {
        std::string p = (fs::path(inc) / name).lexically_normal().string();
        if (p != file && raw.count(p))
          deps.push_back(p);
      }
    }
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
  }
  g.index();
  return g;
}

std::string IncludeGraph::serialize() const {
  std::string out = std::string(kGraphVersion) + "\n";
  for (const auto &[file, deps] : edges_) {
    out += file;
    for (const std::string &d : deps)
      out += "\t" + d;
    out += "\n";
  }
  return out;
}

Expected<IncludeGraph> IncludeGraph::parse(const std::string &text, const std::string &origin) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kGraphVersion)
    return make_error(Location(origin), "not an include graph of this kpatch-gen version");
  IncludeGraph g;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t tab = line.find('\t', start);
      fields.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos)
        break;
      start = tab + 1;
    }
    std::string file = std::move(fields[0]);
    fields.erase(fields.begin());
    g.edges_[file] = std::move(fields);
  }
  g.index();
  return g;
}

std::vector<std::string> IncludeGraph::includers(const std::string &path) const {
  std::set<std::string> seen;
  std::vector<std::string> todo{path};
  while (!todo.empty()) {
    std::string cur = std::move(todo.back());
    todo.pop_back();
    auto it = users_.find(cur);
    if (it == users_.end())
      continue;
    for (const std::string &u : it->second)
      if (u != path && seen.insert(u).second)
        todo.push_back(u);
  }
  return {seen.begin(), seen.end()};
}

const std::vector<std::string> &IncludeGraph::includes(const std::string &path) const {
  static const std::vector<std::string> none;
  auto it = edges_.find(path);
  return it == edges_.end() ? none : it->second;
}

Expected<CachedGraph> load_include_graph(const std::string &cache_root, const std::string &srctree,
                                         const std::string &objtree, const std::string &release, Progress &progress) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  std::string src = fs::canonical(srctree, ec).string();
  if (ec)
    src = srctree;
  std::string id = fmt::format("{}\n{}\n{}\n", kGraphVersion, src, release);
  std::string key = sha256_hex(std::span<const u8>(reinterpret_cast<const u8 *>(id.data()), id.size())).substr(0, 16);
  std::string dir = cache_root + "/includes";
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(Location(dir), "cannot create cache directory: " + ec.message());
  CachedGraph out;
  out.path = dir + "/" + key + ".graph";
  std::string lock = out.path + ".lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(Location(lock), "cannot open lock file");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    progress.note("waiting for another kpatch-gen build scanning the includes of " + srctree);
    if (::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      return make_error(Location(lock), "cannot lock");
    }
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{fd};
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  if (fs::exists(out.path)) {
    if (auto text = read_text_file(out.path))
      if (auto g = IncludeGraph::parse(*text, out.path)) {
        out.graph = std::move(*g);
        out.cached = true;
        out.seconds = seconds();
        return out;
      }
    progress.note("the cached include graph " + out.path + " is unreadable: scanning again");
  }
  progress.note("scanning the #include graph of " + srctree + " (once per kernel release; cached in " + out.path + ")");
  auto g = IncludeGraph::scan(srctree, objtree);
  if (!g)
    return std::move(g).take_error();
  if (auto w = write_text_file_atomic(out.path, g->serialize()); !w)
    return std::move(w).take_error();
  out.graph = std::move(*g);
  out.seconds = seconds();
  return out;
}

} // namespace kpg::build
