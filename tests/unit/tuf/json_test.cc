// SPDX-License-Identifier: GPL-2.0-only
// Canonical JSON (the bytes TUF signs) and the strict parser.
#include <gtest/gtest.h>

#include "tuf/json.h"

namespace kpg::tuf {
namespace {

std::string canon(const std::string &text) {
  auto j = parse_strict(text, Location("t"));
  EXPECT_TRUE(j) << j.error().str();
  auto c = canonical(*j);
  EXPECT_TRUE(c) << c.error().str();
  return *c;
}

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  EXPECT_EQ(canon(R"({ "b": [3, 1, {"z": 1, "a": 2}], "a": true, "c": null })"),
            R"({"a":true,"b":[3,1,{"a":2,"z":1}],"c":null})");
}

TEST(CanonicalJson, EscapesOnlyBackslashAndQuote) {
  // A newline, a tab and a control character stay raw bytes; JSON's \n escape does not.
  EXPECT_EQ(canon("{\"d\": \"a\\nb\\t\\u0001 \\\"q\\\" \\\\ \\u00e9\"}"),
            std::string("{\"d\":\"a\nb\t\x01 \\\"q\\\" \\\\ \xc3\xa9\"}"));
}

TEST(CanonicalJson, SortsKeysByByteValue) {
  EXPECT_EQ(canon(R"({"b": 1, "B": 2, "a": 3, "_type": 4, "\u00e9": 5})"),
            "{\"B\":2,\"_type\":4,\"a\":3,\"b\":1,\"\xc3\xa9\":5}");
}

TEST(CanonicalJson, WritesIntegersPlainly) {
  EXPECT_EQ(canon(R"({"v": 9007199254740992, "n": -5, "z": 0})"), R"({"n":-5,"v":9007199254740992,"z":0})");
}

TEST(CanonicalJson, RefusesFloatingPoint) {
  json j = {{"cvss", 7.5}};
  auto c = canonical(j);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("$.cvss: floating-point number 7.5 has no canonical form"), std::string::npos)
      << c.error().message;
}

TEST(StrictParse, RefusesDuplicateKeys) {
  auto j = parse_strict(R"({"signed": {"version": 1, "version": 2}})", Location("f.json"));
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().str(), "f.json: duplicate object key \"version\"");
}

TEST(StrictParse, AllowsTheSameKeyInDifferentObjects) {
  EXPECT_TRUE(parse_strict(R"({"a": {"v": 1}, "b": {"v": 2}, "v": 3})", Location("f")));
}

TEST(StrictParse, RefusesFloats) {
  auto j = parse_strict(R"({"version": 1.0})", Location("f"));
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("non-integer number"), std::string::npos);
}

TEST(StrictParse, RefusesIntegersBeyondTwoToThe53) {
  EXPECT_TRUE(parse_strict(R"({"v": 9007199254740992})", Location("f")));
  auto j = parse_strict(R"({"v": 9007199254740993})", Location("f"));
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("larger than 2^53"), std::string::npos);
  EXPECT_FALSE(parse_strict(R"({"v": -9007199254740993})", Location("f")));
}

TEST(StrictParse, RefusesInvalidUtf8AndSyntaxErrors) {
  EXPECT_FALSE(parse_strict("{\"a\": \"\xff\"}", Location("f")));
  EXPECT_FALSE(parse_strict("{\"a\": 1", Location("f")));
  EXPECT_FALSE(parse_strict("", Location("f")));
}

} // namespace
} // namespace kpg::tuf
