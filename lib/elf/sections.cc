// SPDX-License-Identifier: GPL-2.0-only
//
// A reader edge like reader.cc: libelf with ELF_C_READ_MMAP, so only the pages of the wanted
// section are touched.
#include "elf/sections.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "elf/notes.h"

namespace kpg::elf {
namespace {

struct Handle {
  int fd = -1;
  Elf *elf = nullptr;
  ~Handle() {
    if (elf)
      elf_end(elf);
    if (fd >= 0)
      ::close(fd);
  }
};

Expected<void> open_elf(const std::string &path, Handle &h) {
  if (elf_version(EV_CURRENT) == EV_NONE)
    return make_error(Location(path), "libelf initialisation failed");
  h.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (h.fd < 0)
    return make_error(Location(path), fmt::format("cannot open: {}", std::strerror(errno)));
  h.elf = elf_begin(h.fd, ELF_C_READ_MMAP, nullptr);
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF)
    return make_error(Location(path), "not an ELF file");
  return {};
}

} // namespace

Expected<std::vector<u8>> read_section_bytes(const std::string &path, const std::string &name) {
  Handle h;
  if (auto o = open_elf(path, h); !o)
    return std::move(o).take_error();
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(h.elf, &shstrndx) != 0)
    return make_error(Location(path), "no section name table");
  for (Elf_Scn *scn = elf_nextscn(h.elf, nullptr); scn; scn = elf_nextscn(h.elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh))
      continue;
    const char *n = elf_strptr(h.elf, shstrndx, sh.sh_name);
    if (!n || name != n)
      continue;
    if (sh.sh_type == SHT_NOBITS)
      return std::vector<u8>(sh.sh_size, 0);
    Elf_Data *d = elf_rawdata(scn, nullptr);
    if (!d)
      return make_error(Location(path).with_section(name), "cannot read section contents");
    const u8 *p = static_cast<const u8 *>(d->d_buf);
    return std::vector<u8>(p, p + d->d_size);
  }
  return make_error(Location(path).with_section(name), "no such section");
}

Expected<std::vector<u8>> read_bytes_at_address(const std::string &path, u64 addr, u64 len) {
  Handle h;
  if (auto o = open_elf(path, h); !o)
    return std::move(o).take_error();
  for (Elf_Scn *scn = elf_nextscn(h.elf, nullptr); scn; scn = elf_nextscn(h.elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS || addr < sh.sh_addr ||
        addr - sh.sh_addr >= sh.sh_size)
      continue;
    Elf_Data *d = elf_rawdata(scn, nullptr);
    if (!d || !d->d_buf || d->d_size != sh.sh_size)
      return make_error(Location(path), fmt::format("cannot read the section holding address 0x{:x}", addr));
    u64 off = addr - sh.sh_addr, n = std::min<u64>(len, sh.sh_size - off);
    const u8 *p = static_cast<const u8 *>(d->d_buf) + off;
    return std::vector<u8>(p, p + n);
  }
  return make_error(Location(path), fmt::format("no allocated section holds address 0x{:x}", addr));
}

Expected<std::string> read_build_id(const std::string &path) {
  Handle h;
  if (auto o = open_elf(path, h); !o)
    return std::move(o).take_error();
  for (Elf_Scn *scn = elf_nextscn(h.elf, nullptr); scn; scn = elf_nextscn(h.elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
      continue;
    Elf_Data *d = elf_rawdata(scn, nullptr);
    if (!d || !d->d_buf)
      continue;
    const u8 *p = static_cast<const u8 *>(d->d_buf);
    if (auto id = find_gnu_build_id(std::span<const u8>(p, d->d_size)))
      return *id;
  }
  return make_error(Location(path), "no GNU build ID note");
}

} // namespace kpg::elf
