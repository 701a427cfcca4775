// SPDX-License-Identifier: GPL-2.0-only
#include "test_util.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace kpg::disasm::test {

const Decoder &decoder() {
  static const Decoder d = [] {
    auto created = Decoder::create_x86_64();
    if (!created)
      throw std::runtime_error(created.error().str());
    return std::move(created).value();
  }();
  return d;
}

GuardedBuffer::GuardedBuffer(std::span<const u8> bytes) : size_(bytes.size()) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t data_pages = (bytes.size() + page - 1) / page + 1;
  map_size_ = (data_pages + 1) * page;
  map_ = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map_ == MAP_FAILED)
    throw std::runtime_error("mmap failed");
  u8 *base = static_cast<u8 *>(map_);
  u8 *guard = base + data_pages * page;
  if (mprotect(guard, page, PROT_NONE) != 0)
    throw std::runtime_error("mprotect failed");
  u8 *data = guard - bytes.size();
  if (!bytes.empty())
    std::memcpy(data, bytes.data(), bytes.size());
  data_ = data;
}

GuardedBuffer::~GuardedBuffer() { munmap(map_, map_size_); }

void write_file(const std::filesystem::path &p, const std::string &text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

int run(const std::string &cmd) {
  const int status = std::system(cmd.c_str());
  if (status == -1 || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

static std::string read_text(const std::filesystem::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<u8> section_bytes(const TempDir &dir, const std::filesystem::path &obj, const std::string &section) {
  const std::filesystem::path out = dir.file(section + ".bin");
  const std::string cmd = "objcopy -O binary --only-section='" + section + "' '" + obj.string() + "' '" + out.string() + "'";
  if (run(cmd) != 0)
    return {};
  const std::string text = read_text(out);
  return std::vector<u8>(text.begin(), text.end());
}

std::vector<ObjdumpInsn> objdump_insns(const TempDir &dir, const std::filesystem::path &obj, const std::string &section) {
  const std::filesystem::path out = dir.file(section + ".objdump");
  // A wide insn-width keeps every instruction on one line (no byte continuation lines).
  const std::string cmd = "objdump -d --insn-width=16 -j '" + section + "' '" + obj.string() + "' > '" + out.string() + "'";
  if (run(cmd) != 0)
    return {};
  // "  1b:\tbe 12 00 00 00       \tmov    $0x12,%esi". Parsed by hand: std::regex trips
  // GCC 12's -Wmaybe-uninitialized under -fsanitize (KPG_SANITIZE with KPG_WERROR).
  std::vector<ObjdumpInsn> insns;
  std::istringstream in(read_text(out));
  for (std::string line; std::getline(in, line);) {
    const std::size_t colon = line.find(":\t");
    if (colon == std::string::npos)
      continue;
    const std::size_t first = line.find_first_not_of(' ');
    if (first >= colon || line.find_first_not_of("0123456789abcdef", first) != colon)
      continue;
    const std::size_t text = line.find('\t', colon + 2); // no second tab: a byte continuation line
    if (text == std::string::npos)
      continue;
    insns.push_back({static_cast<u32>(std::stoul(line.substr(first, colon - first), nullptr, 16)), line.substr(text + 1)});
  }
  return insns;
}

} // namespace kpg::disasm::test
