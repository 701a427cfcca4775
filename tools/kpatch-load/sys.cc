// SPDX-License-Identifier: GPL-2.0-only
// Real implementations of the loader's seams: files below a root, the two module syscalls,
// and the monotonic clock.
#include "sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "support/file.h"

namespace kpg::load {

std::string errno_text(int err) {
  const char *name = nullptr;
  switch (err) {
  case EPERM: name = "EPERM"; break;
  case ENOENT: name = "ENOENT"; break;
  case EIO: name = "EIO"; break;
  case EAGAIN: name = "EAGAIN"; break; // == EWOULDBLOCK on Linux
  case EACCES: name = "EACCES"; break;
  case EBUSY: name = "EBUSY"; break;
  case EEXIST: name = "EEXIST"; break;
  case EINVAL: name = "EINVAL"; break;
  case ENOEXEC: name = "ENOEXEC"; break;
  case ENOSYS: name = "ENOSYS"; break;
  case ENOMEM: name = "ENOMEM"; break;
  case EFAULT: name = "EFAULT"; break;
  case ENODEV: name = "ENODEV"; break;
  case ENOKEY: name = "ENOKEY"; break;
  case EKEYREJECTED: name = "EKEYREJECTED"; break;
  case EBADMSG: name = "EBADMSG"; break;
  case ENOPKG: name = "ENOPKG"; break;
  default: break;
  }
  if (name)
    return fmt::format("{} ({})", name, std::strerror(err));
  return fmt::format("errno {} ({})", err, std::strerror(err));
}

static Error sys_error(const std::string &path, const char *what, int err) {
  return make_error(Location(path), fmt::format("{}: {}", what, errno_text(err)));
}

static Expected<std::string> read_fd_all(int fd, const std::string &shown) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int err = errno;
      ::close(fd);
      return sys_error(shown, "cannot read", err);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Expected<std::string> read_host_file(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sys_error(path, "cannot open", errno);
  return read_fd_all(fd, path);
}

RootFs::RootFs(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/')
    root_.pop_back();
}

std::string RootFs::host_path(const std::string &path) const {
  if (root_.empty())
    return path;
  return path.starts_with('/') ? root_ + path : root_ + "/" + path;
}

// Messages show the kernel path ("/sys/kernel/livepatch/p/enabled"), with the root in front
// only when one is set, so that a test failure still shows which tree was read.
Expected<std::string> RootFs::read(const std::string &path) {
  std::string hp = host_path(path);
  int fd = ::open(hp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sys_error(hp, "cannot open", errno);
  return read_fd_all(fd, hp);
}

int RootFs::write_attr(const std::string &path, std::string_view data) {
  std::string hp = host_path(path);
  // O_TRUNC matters only for fake trees (regular files); sysfs ignores it.
  int fd = ::open(hp.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0)
    return errno;
  ssize_t n;
  do {
    n = ::write(fd, data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

Expected<std::vector<std::string>> RootFs::list(const std::string &path) {
  std::string hp = host_path(path);
  DIR *d = ::opendir(hp.c_str());
  if (!d)
    return sys_error(hp, "cannot list directory", errno);
  std::vector<std::string> names;
  while (struct dirent *e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
      continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool RootFs::exists(const std::string &path) {
  struct stat st;
  return ::stat(host_path(path).c_str(), &st) == 0;
}

bool RootFs::is_dir(const std::string &path) {
  struct stat st;
  return ::stat(host_path(path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Expected<void> RootFs::write_file_atomic(const std::string &path, const std::string &data) {
  return write_text_file_atomic(host_path(path), data, 0644);
}

Expected<void> RootFs::make_dirs(const std::string &path) {
  std::string hp = host_path(path);
  for (size_t pos = 1; pos <= hp.size(); pos++) {
    if (pos != hp.size() && hp[pos] != '/')
      continue;
    std::string prefix = hp.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return sys_error(prefix, "cannot create directory", errno);
  }
  return {};
}

Expected<void> RootFs::remove_file(const std::string &path) {
  std::string hp = host_path(path);
  if (::unlink(hp.c_str()) != 0 && errno != ENOENT)
    return sys_error(hp, "cannot remove", errno);
  return {};
}

Expected<void> RootFs::copy_in(const std::string &host_src, const std::string &dst) {
  auto data = read_host_file(host_src);
  if (!data)
    return std::move(data).take_error();
  return write_file_atomic(dst, *data);
}

int LinuxModuleSyscalls::load_module(const std::string &host_path, const std::string &params) {
  int fd = ::open(host_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  // finit_module rather than init_module: the kernel reads the file itself, which is what
  // module signature checking and LSM policies (e.g. LoadPin) key on.
  long rc = ::syscall(SYS_finit_module, fd, params.c_str(), 0);
  int err = rc < 0 ? errno : 0;
  ::close(fd);
  return err;
}

int LinuxModuleSyscalls::delete_module(const std::string &name) {
  // O_NONBLOCK: fail with EWOULDBLOCK while the module is referenced instead of the old
  // "wait until unused" mode; the caller polls refcnt itself, with a deadline.
  long rc = ::syscall(SYS_delete_module, name.c_str(), O_NONBLOCK);
  return rc < 0 ? errno : 0;
}

i64 SteadyClock::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void SteadyClock::sleep_ms(i64 ms) {
  if (ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string SteadyClock::wall_time() {
  std::time_t t = std::time(nullptr);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace kpg::load
