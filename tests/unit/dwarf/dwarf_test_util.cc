// SPDX-License-Identifier: GPL-2.0-only
#include "dwarf_test_util.h"

#include <stdlib.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "elf/reader.h"

namespace kpg::dwarf::test {

std::string run_ok(const std::string &dir, const std::string &cmd) {
  std::string full = "cd '" + dir + "' && " + cmd + " 2>&1";
  FILE *p = ::popen(full.c_str(), "r");
  if (!p)
    throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int status = ::pclose(p);
  if (status != 0)
    throw std::runtime_error("command failed: " + cmd + "\n" + out);
  return out;
}

void write_text(const std::string &path, const std::string &text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f)
    throw std::runtime_error("cannot write " + path);
}

std::string compile(const TempDir &dir, const std::string &name, const std::string &source, const std::string &flags) {
  std::filesystem::path p(name);
  std::filesystem::create_directories(std::filesystem::path(dir.file(name)).parent_path());
  write_text(dir.file(name), source);
  std::string obj = p.replace_extension(".o").string();
  run_ok(dir.path(), "gcc -c " + flags + " " + name + " -o " + obj);
  return dir.file(obj);
}

std::string dwarf_flag(int version) { return "-gdwarf-" + std::to_string(version); }

std::string dwarf_version_name(const ::testing::TestParamInfo<int> &info) { return "dwarf" + std::to_string(info.param); }

u32 line_of(const std::string &source, const std::string &marker) {
  std::istringstream in(source);
  std::string line;
  for (u32 n = 1; std::getline(in, line); ++n)
    if (line.find(marker) != std::string::npos)
      return n;
  throw std::runtime_error("marker not in source: " + marker);
}

elf::ObjectFile must_read(const std::string &path) {
  auto obj = elf::read_object(path);
  if (!obj)
    throw std::runtime_error(obj.error().str());
  return std::move(*obj);
}

elf::SectionId must_find_section(const elf::ObjectFile &obj, const std::string &name) {
  auto s = obj.find_section(name);
  if (!s)
    throw std::runtime_error("no section " + name + " in " + obj.path);
  return *s;
}

const elf::Symbol &must_find_symbol(const elf::ObjectFile &obj, const std::string &name) {
  auto s = obj.find_symbol(name);
  if (!s)
    throw std::runtime_error("no symbol " + name + " in " + obj.path);
  return obj.symbols[*s];
}

void compress_section(elf::Section &s) {
  Elf64_Chdr ch{};
  ch.ch_type = ELFCOMPRESS_ZLIB;
  ch.ch_size = s.data.size();
  ch.ch_addralign = s.addralign;
  uLongf len = compressBound(static_cast<uLong>(s.data.size()));
  std::vector<u8> out(sizeof ch + len);
  if (compress(out.data() + sizeof ch, &len, s.data.data(), static_cast<uLong>(s.data.size())) != Z_OK)
    throw std::runtime_error("zlib compress failed for " + s.name);
  std::memcpy(out.data(), &ch, sizeof ch);
  out.resize(sizeof ch + len);
  s.data = std::move(out);
  s.size = s.data.size();
  s.flags |= SHF_COMPRESSED;
}

std::optional<u64> find_imul_imm8(const std::vector<u8> &code, u8 imm) {
  for (size_t i = 0; i + 2 < code.size(); ++i)
    if (code[i] == 0x6b && (code[i + 1] & 0xc0) == 0xc0 && code[i + 2] == imm)
      return i;
  return std::nullopt;
}

} // namespace kpg::dwarf::test
