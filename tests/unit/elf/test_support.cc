// SPDX-License-Identifier: GPL-2.0-only
#include "test_support.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "elf/reader.h"
#include "elf/writer.h"

namespace kpg::elf::test {

// A bit of everything a kernel compilation unit has: functions in their own sections,
// .data/.bss/.rodata objects, merged strings, a jump table, an __ex_table-style pushsection
// with PC-relative relocations, a weak function, pointer tables (R_X86_64_64), __mcount_loc,
// a COMDAT group (from top-level asm: C alone makes none), .eh_frame and, with -g, DWARF with its relocations.
const char *const kKernelStyleC = R"(
struct ops { int (*fn)(int); const char *name; };
static int counter;
int global_data = 42;
static const char banner[] = "kpatch-gen";
extern int ext_fn(int);
extern void printk(const char *, ...);
static int __attribute__((noinline)) helper(int x) { return x * 3 + counter; }
int entry(int x) { counter++; printk("entry %d %s\n", x, banner); return helper(x) + ext_fn(x); }
int __attribute__((weak)) weak_fn(int x) { return x + 1; }
static const struct ops my_ops = { helper, "ops" };
const struct ops *get_ops(void) { return &my_ops; }
int sw(int x) {
  switch (x) {
  case 0: return ext_fn(11); case 1: return ext_fn(22); case 2: return ext_fn(37);
  case 3: return ext_fn(41); case 4: return ext_fn(53); case 5: return ext_fn(67);
  default: return 0;
  }
}
__attribute__((section(".init.text"))) int init_fn(void) { return global_data; }
void *ptrs[] = { &counter, &global_data, (void *)entry };
int ex(int *p) {
  int v;
  asm volatile("1: movl (%1),%0\n2:\n"
               ".pushsection __ex_table,\"a\"\n .long 1b - .\n .long 2b - .\n .popsection"
               : "=r"(v) : "r"(p));
  return v;
}
asm(".pushsection .text.comdat_fn,\"axG\",@progbits,comdat_fn,comdat\n"
    ".globl comdat_fn\n.type comdat_fn,@function\ncomdat_fn: call entry\n ret\n.popsection");
)";

CmdResult run(const std::string &cmd) {
  CmdResult r;
  std::string full = cmd + " 2>&1";
  FILE *p = ::popen(full.c_str(), "r");
  if (!p)
    throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string run_ok(const std::string &cmd) {
  CmdResult r = run(cmd);
  if (r.status != 0)
    throw std::runtime_error("command failed (" + std::to_string(r.status) + "): " + cmd + "\n" + r.output);
  return r.output;
}

void write_text(const std::string &path, const std::string &text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f)
    throw std::runtime_error("cannot write " + path);
}

std::vector<u8> read_bytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw std::runtime_error("cannot read " + path);
  return std::vector<u8>(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string &path, const std::vector<u8> &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f)
    throw std::runtime_error("cannot write " + path);
}

std::string compile_c(const TempDir &dir, const std::string &name, const std::string &source,
                      const std::string &extra_flags) {
  std::string src = dir.file(name + ".c"), obj = dir.file(name + ".o");
  write_text(src, source);
  run_ok("gcc -c " + std::string(kKernelCflags) + " " + extra_flags + " -o " + obj + " " + src);
  return obj;
}

std::string assemble(const TempDir &dir, const std::string &name, const std::string &source) {
  std::string src = dir.file(name + ".s"), obj = dir.file(name + ".o");
  write_text(src, source);
  run_ok("as --64 -o " + obj + " " + src);
  return obj;
}

ObjectFile must_read(const std::string &path) {
  auto r = read_object(path);
  if (!r)
    throw std::runtime_error("read failed: " + r.error().str());
  return std::move(r).value();
}

ObjectFile must_read(const std::string &name, const std::vector<u8> &image) {
  auto r = read_object_from_memory(name, image);
  if (!r)
    throw std::runtime_error("read failed: " + r.error().str());
  return std::move(r).value();
}

std::vector<u8> must_write(const ObjectFile &obj) {
  auto w = write_object_to_memory(obj);
  if (!w)
    throw std::runtime_error("write failed: " + w.error().str());
  return std::move(w).value();
}

ObjectFile rewrite(const ObjectFile &obj) { return must_read(obj.path + " (rewritten)", must_write(obj)); }

} // namespace kpg::elf::test
