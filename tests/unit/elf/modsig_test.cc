// SPDX-License-Identifier: GPL-2.0-only
// The appended module signature trailer (elf/modsig.h): the layout the kernel reads
// (struct module_signature + "~Module signature appended~\n"), and the trailers the kernel's
// mod_check_sig() rejects, each with the errno the kernel would answer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "elf/modsig.h"

using namespace kpg;

namespace {

TEST(elf_modsig, UnsignedFileHasNoSignature) {
  std::vector<u8> m(100, 0x42);
  auto s = elf::find_appended_signature(m, "m.ko");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_FALSE(*s);
}

TEST(elf_modsig, TrailerIsTheKernelsStructAndMagic) {
  std::vector<u8> t = elf::module_signature_trailer(0x01020304);
  ASSERT_EQ(t.size(), 12u + 28u);
  // {algo, hash, id_type = PKEY_ID_PKCS7, signer_len, key_id_len, pad[3], __be32 sig_len}
  std::vector<u8> info(t.begin(), t.begin() + 12);
  EXPECT_EQ(info, (std::vector<u8>{0, 0, 2, 0, 0, 0, 0, 0, 1, 2, 3, 4}));
  EXPECT_EQ(std::string(t.begin() + 12, t.end()), "~Module signature appended~\n");
}

TEST(elf_modsig, TrailerFoundAtTheEnd) {
  std::vector<u8> f(1000, 0x11);
  f.insert(f.end(), 77, 0x30);
  std::vector<u8> t = elf::module_signature_trailer(77);
  f.insert(f.end(), t.begin(), t.end());
  auto s = elf::find_appended_signature(f, "m.ko");
  ASSERT_TRUE(s && *s);
  EXPECT_EQ((*s)->module_size, 1000u);
  EXPECT_EQ((*s)->sig_size, 77u);
}

TEST(elf_modsig, SignatureLongerThanTheFileIsRefused) {
  std::vector<u8> f(50, 0x11);
  std::vector<u8> t = elf::module_signature_trailer(50); // the kernel wants sig_len < 50
  f.insert(f.end(), t.begin(), t.end());
  auto s = elf::find_appended_signature(f, "m.ko");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("EBADMSG"), std::string::npos) << s.error().str();
}

TEST(elf_modsig, OtherSignatureTypeIsRefused) {
  std::vector<u8> f(100, 0x11);
  std::vector<u8> t = elf::module_signature_trailer(10);
  t[2] = 1; // PKEY_ID_X509: the pre-4.x format the kernel no longer accepts
  f.insert(f.end(), t.begin(), t.end());
  auto s = elf::find_appended_signature(f, "m.ko");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("ENOPKG"), std::string::npos) << s.error().str();
}

TEST(elf_modsig, NonZeroInfoFieldsAreRefused) {
  std::vector<u8> f(100, 0x11);
  std::vector<u8> t = elf::module_signature_trailer(10);
  t[4] = 8; // key_id_len: meaningful only for the old format
  f.insert(f.end(), t.begin(), t.end());
  EXPECT_FALSE(elf::find_appended_signature(f, "m.ko"));
}

} // namespace
