// SPDX-License-Identifier: GPL-2.0-only
//
// A reader edge like reader.cc: libelf with ELF_C_READ_MMAP, so only the pages of the wanted
// section are touched.
#include "elf/sections.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>

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

std::string build_id_from_notes(const std::vector<u8> &notes) {
  size_t off = 0;
  auto align4 = [](size_t v) { return (v + 3) & ~size_t{3}; };
  while (off + 12 <= notes.size()) {
    u32 namesz, descsz, type;
    std::memcpy(&namesz, notes.data() + off, 4);
    std::memcpy(&descsz, notes.data() + off + 4, 4);
    std::memcpy(&type, notes.data() + off + 8, 4);
    size_t name_off = off + 12;
    size_t desc_off = name_off + align4(namesz);
    if (desc_off > notes.size() || descsz > notes.size() - desc_off)
      break;
    if (type == NT_GNU_BUILD_ID && namesz == 4 && std::memcmp(notes.data() + name_off, "GNU", 4) == 0) {
      std::string hex;
      for (size_t i = 0; i < descsz; i++)
        hex += fmt::format("{:02x}", notes[desc_off + i]);
      return hex;
    }
    off = desc_off + align4(descsz);
  }
  return {};
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
    std::string id = build_id_from_notes(std::vector<u8>(p, p + d->d_size));
    if (!id.empty())
      return id;
  }
  return make_error(Location(path), "no GNU build ID note");
}

} // namespace kpg::elf
