// SPDX-License-Identifier: GPL-2.0-only
#include "builder/debian.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <regex>

#include "builder/process.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

std::optional<std::string> debian_kernel_series(const std::string &r) {
  static const std::regex v6_1(R"(^6\.1\.0-[0-9]+-(cloud-amd64|amd64|rt-amd64)$)");
  static const std::regex v6_12(R"(^6\.12\.[0-9]+\+deb1[23]-(cloud-amd64|amd64|rt-amd64)$)");
  if (std::regex_match(r, v6_1))
    return "6.1";
  if (std::regex_match(r, v6_12))
    return "6.12";
  return std::nullopt;
}

bool is_debian_release(const std::string &r) { return debian_kernel_series(r).has_value(); }

Expected<std::string> default_debian_release() {
  struct utsname u;
  if (uname(&u) != 0)
    return make_error(Location("uname"), "cannot read the running kernel's release");
  std::string r = u.release;
  if (is_debian_release(r))
    return r;
  std::string hint;
  if (auto dep = capture({"sh", "-c", "apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null | "
                                      "sed -n 's/^Depends: linux-image-\\([^ ]*\\) .*/\\1/p'"});
      dep && !dep->empty())
    hint = fmt::format(" (the archive's current cloud kernel is {})", *dep);
  return make_error(Location("--debian-kernel"),
                    fmt::format("the running kernel '{}' is not a Debian 6.1 or 6.12 kernel: name the release, e.g. "
                                "--debian-kernel 6.1.0-56-cloud-amd64{}",
                                r, hint));
}

namespace {

// Installed version of a package, or "".
std::string installed_version(const std::string &pkg) {
  auto out = capture({"dpkg-query", "-W", "-f=${Status}|${Version}", pkg});
  if (!out || out->rfind("install ok installed|", 0) != 0)
    return {};
  return out->substr(out->find('|') + 1);
}

// Versions of a package the archive offers, newest first (apt-cache madison).
std::vector<std::string> archive_versions(const std::string &pkg) {
  std::vector<std::string> v;
  char tmpl[] = "/tmp/kpg-madison.XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0)
    return v;
  ::close(fd);
  Command c{{"apt-cache", "madison", pkg}, "", tmpl, {}};
  if (auto rc = run(c); rc && *rc == 0)
    if (auto text = read_text_file(tmpl)) {
      size_t pos = 0;
      while (pos < text->size()) {
        size_t nl = text->find('\n', pos);
        std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text->size() : nl + 1;
        size_t a = line.find('|'), b = line.find('|', a + 1);
        if (a == std::string::npos || b == std::string::npos)
          continue;
        std::string ver = line.substr(a + 1, b - a - 1);
        ver.erase(0, ver.find_first_not_of(' '));
        ver.erase(ver.find_last_not_of(' ') + 1);
        if (std::find(v.begin(), v.end(), ver) == v.end())
          v.push_back(ver);
      }
    }
  ::unlink(tmpl);
  return v;
}

bool apt_updated = false;

std::vector<std::string> archive_versions_updating(const std::string &pkg, Progress &progress) {
  auto v = archive_versions(pkg);
  if (v.empty() && !apt_updated && geteuid() == 0) {
    progress.note("apt-get update (package lists do not know " + pkg + ")");
    Command c{{"apt-get", "update", "-qq"}, "", "/dev/null", {}};
    (void)run(c);
    apt_updated = true;
    v = archive_versions(pkg);
  }
  return v;
}

} // namespace

Expected<DebianKernel> provision_debian_kernel(const std::string &release, const std::string &cache_root,
                                               Progress &progress) {
  auto t0 = std::chrono::steady_clock::now();
  auto series = debian_kernel_series(release);
  if (!series)
    return make_error(Location("--debian-kernel"),
                      fmt::format("'{}' is not a Debian 6.1 or 6.12 kernel release (like 6.1.0-56-cloud-amd64 or "
                                  "6.12.118+deb12-cloud-amd64)",
                                  release));
  DebianKernel k;
  k.release = release;
  std::string dbg = "linux-image-" + release + "-dbg", headers = "linux-headers-" + release;
  const std::string source = "linux-source-" + *series;
  std::string image = "linux-image-" + release, image_unsigned = image + "-unsigned";

  // The version is the -dbg package's (installed, or the archive's).
  k.version = installed_version(dbg);
  if (k.version.empty()) {
    auto v = archive_versions_updating(dbg, progress);
    if (v.empty())
      return make_error(Location(dbg), "no such package in the configured archives: is the release name right, and "
                                       "are the Debian (security) repositories configured?");
    k.version = v.front();
  }
  std::string base = cache_root + "/debian/" + release;
  std::string root = base + "/root";
  std::error_code ec;
  fs::create_directories(base + "/debs", ec);
  fs::create_directories(root, ec);
  // Two builds for one release at once (a CI job with two patches, bench/fixes next to a
  // test) would both download and unpack into the same root: one at a time.
  auto release_lock = FileLock::acquire(base + ".lock", [&] {
    progress.note("waiting for another kpatch-gen fetching the packages of " + release);
  });
  if (!release_lock)
    return std::move(release_lock).take_error();

  // Each package: in place if installed at the version, else downloaded and unpacked.
  std::vector<std::string> mismatches;
  auto locate = [&](const std::vector<std::string> &names, std::string &where) -> Expected<void> {
    for (const std::string &pkg : names) {
      std::string iv = installed_version(pkg);
      if (iv == k.version) {
        where.assign(1, '/'); // (not `= "/"`: GCC 12 -Wrestrict false positive)
        return {};
      }
    }
    const std::string &pkg = names.front();
    std::string stamp = base + "/debs/" + pkg + "_" + k.version + ".unpacked";
    if (fs::exists(stamp)) {
      where = root;
      return {};
    }
    std::string chosen;
    for (const std::string &name : names) {
      auto v = archive_versions_updating(name, progress);
      if (std::find(v.begin(), v.end(), k.version) != v.end()) {
        chosen = name;
        break;
      }
      if (!v.empty())
        mismatches.push_back(fmt::format("{} is available only as {} (need {})", name, fmt::join(v, ", "), k.version));
    }
    if (chosen.empty())
      return make_error(Location(pkg), fmt::format("no version {} in the archives", k.version));
    progress.note(fmt::format("fetching {}={} into {}", chosen, k.version, base));
    std::string log = base + "/apt.log";
    Command dl{{"apt-get", "download", "-q", chosen + "=" + k.version}, base + "/debs", log, {}};
    if (auto rc = run(dl); !rc || *rc != 0)
      return make_error(Location(chosen), fmt::format("apt-get download failed:\n{}", log_tail(log)));
    std::string deb;
    for (const auto &e : fs::directory_iterator(base + "/debs"))
      if (e.path().filename().string().rfind(chosen + "_", 0) == 0 && e.path().extension() == ".deb")
        deb = e.path().string();
    if (deb.empty())
      return make_error(Location(chosen), "apt-get download produced no .deb");
    Command x{{"dpkg-deb", "-x", deb, root}, "", log, {}};
    if (auto rc = run(x); !rc || *rc != 0)
      return make_error(Location(deb), fmt::format("dpkg-deb -x failed:\n{}", log_tail(log)));
    fs::remove(deb, ec); // unpacked; the .deb itself is not needed again
    k.downloaded = true;
    if (auto w = write_text_file_atomic(stamp, k.version); !w)
      return w;
    where = root;
    return {};
  };
  std::string dbg_root, headers_root, image_root, source_root;
  for (auto [names, where] : {std::pair<std::vector<std::string>, std::string *>{{dbg}, &dbg_root},
                              {{headers}, &headers_root},
                              {{image_unsigned, image}, &image_root},
                              {{source}, &source_root}}) {
    if (auto r = locate(names, *where); !r) {
      std::string msg = r.error().message;
      for (const std::string &m : mismatches)
        msg += "\n  " + m;
      if (names.front() == source)
        msg += fmt::format("\n  the kernel {} ({}) and the packaged source must be the same version: Debian's archive "
                           "keeps only the newest {}, so an older kernel needs an upgrade (or the "
                           "matching source from snapshot.debian.org, unpacked with --kernel-src)",
                           release, k.version, source);
      return make_error(r.error().loc, msg);
    }
  }
  auto in = [](const std::string &r, const std::string &p) {
    std::string path = r == "/" ? std::string() : r;
    path += p;
    return path;
  };
  k.vmlinux = in(dbg_root, "/usr/lib/debug/boot/vmlinux-" + release);
  k.config = in(headers_root, "/usr/src/linux-headers-" + release + "/.config");
  k.symvers = in(headers_root, "/usr/src/linux-headers-" + release + "/Module.symvers");
  k.modules_dir = in(image_root, "/lib/modules/" + release);
  k.debug_modules_dir = in(dbg_root, "/usr/lib/debug/lib/modules/" + release);
  k.vmlinuz = in(image_root, "/boot/vmlinuz-" + release);
  for (const std::string &f : {k.vmlinux, k.config, k.symvers, k.vmlinuz})
    if (!fs::exists(f))
      return make_error(Location(f), "expected in the packages of " + release + " but missing");

  // The pristine source, once per version.
  std::string tarball = in(source_root, "/usr/src/" + source + ".tar.xz");
  std::string srcdir = cache_root + "/debian/src-" + k.version;
  k.source_tree = srcdir + "/" + source;
  // One source version serves several releases (6.1.0-57 and bench/fixes' newer side): the
  // extraction is locked on its own.
  auto src_lock = FileLock::acquire(srcdir + ".lock", [&] {
    progress.note("waiting for another kpatch-gen extracting " + srcdir);
  });
  if (!src_lock)
    return std::move(src_lock).take_error();
  if (!fs::exists(srcdir + "/complete")) {
    fs::remove_all(srcdir, ec);
    fs::create_directories(srcdir, ec);
    progress.note("extracting " + tarball + " into " + srcdir);
    Command t{{"tar", "-xf", tarball, "-C", srcdir}, "", srcdir + ".log", {}};
    if (auto rc = run(t); !rc || *rc != 0)
      return make_error(Location(tarball), fmt::format("cannot extract:\n{}", log_tail(srcdir + ".log")));
    if (!fs::exists(k.source_tree + "/Makefile"))
      return make_error(Location(tarball), "did not contain " + source + "/");
    if (auto w = write_text_file_atomic(srcdir + "/complete", k.version); !w)
      return std::move(w).take_error();
  }
  k.provision_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return k;
}

} // namespace kpg::build
