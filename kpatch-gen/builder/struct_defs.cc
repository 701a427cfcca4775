// SPDX-License-Identifier: GPL-2.0-only
#include "builder/struct_defs.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace kpg::build {
namespace {

// The text with comments removed and every run of white space turned into one space, plus
// the line each output character came from. String and character literals are kept as they
// are (a "/*" inside one is not a comment).
struct Clean {
  std::string text;
  std::vector<unsigned> line;
};

Clean clean(const std::string &in) {
  Clean c;
  unsigned line = 1;
  bool space = false;
  auto put = [&](char ch) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      space = true;
      return;
    }
    if (space && !c.text.empty()) {
      c.text.push_back(' ');
      c.line.push_back(line);
    }
    space = false;
    c.text.push_back(ch);
    c.line.push_back(line);
  };
  for (size_t i = 0; i < in.size(); i++) {
    char ch = in[i];
    if (ch == '/' && i + 1 < in.size() && in[i + 1] == '*') {
      size_t end = in.find("*/", i + 2);
      for (size_t k = i; k < std::min(end == std::string::npos ? in.size() : end + 2, in.size()); k++)
        if (in[k] == '\n')
          line++;
      i = end == std::string::npos ? in.size() : end + 1;
      space = true;
      continue;
    }
    if (ch == '/' && i + 1 < in.size() && in[i + 1] == '/') {
      while (i < in.size() && in[i] != '\n')
        i++;
      space = true;
      if (i < in.size())
        line++;
      continue;
    }
    if (ch == '"' || ch == '\'') {
      char q = ch;
      put(ch);
      for (i++; i < in.size() && in[i] != q; i++) {
        if (in[i] == '\\' && i + 1 < in.size())
          put(in[i++]);
        if (in[i] == '\n')
          line++;
        put(in[i]);
      }
      if (i < in.size())
        put(in[i]);
      continue;
    }
    if (ch == '\n')
      line++;
    put(ch);
  }
  return c;
}

bool ident_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; }

// NAME -> (body between the braces, first line). Definitions only: `struct NAME {` where the
// brace opens a body, not an initializer (`struct foo x = {` has `=` before its brace, and
// `struct foo x;` has none).
std::map<std::string, std::pair<std::string, unsigned>> definitions(const Clean &c) {
  std::map<std::string, std::pair<std::string, unsigned>> defs;
  const std::string &t = c.text;
  for (size_t i = 0; i < t.size(); i++) {
    bool kw_struct = t.compare(i, 6, "struct") == 0 && (i + 6 >= t.size() || !ident_char(t[i + 6]));
    bool kw_union = t.compare(i, 5, "union") == 0 && (i + 5 >= t.size() || !ident_char(t[i + 5]));
    if ((!kw_struct && !kw_union) || (i > 0 && ident_char(t[i - 1])))
      continue;
    size_t p = i + (kw_struct ? 6 : 5);
    while (p < t.size() && t[p] == ' ')
      p++;
    // Attributes between the keyword and the name (`struct __packed foo {`,
    // `struct __attribute__((aligned(8))) foo {`) are skipped as identifiers and parentheses.
    std::string name;
    for (;;) {
      size_t s = p;
      while (p < t.size() && ident_char(t[p]))
        p++;
      std::string word = t.substr(s, p - s);
      while (p < t.size() && t[p] == ' ')
        p++;
      if (p < t.size() && t[p] == '(') {
        int depth = 0;
        for (; p < t.size(); p++) {
          depth += t[p] == '(' ? 1 : t[p] == ')' ? -1 : 0;
          if (depth == 0)
            break;
        }
        p++;
        while (p < t.size() && t[p] == ' ')
          p++;
        continue;
      }
      name = word;
      if (word.empty() || (p < t.size() && t[p] == '{') || !(p < t.size() && ident_char(t[p])))
        break;
    }
    if (p >= t.size() || t[p] != '{')
      continue;
    size_t open = p;
    int depth = 0;
    size_t close = open;
    for (; close < t.size(); close++) {
      depth += t[close] == '{' ? 1 : t[close] == '}' ? -1 : 0;
      if (depth == 0)
        break;
    }
    if (close >= t.size())
      break;
    std::string body = t.substr(open + 1, close - open - 1);
    std::string key = std::string(kw_struct ? "struct " : "union ") + name;
    if (name.empty()) {
      // `typedef struct { ... } foo_t;`: named by the typedef.
      size_t q = close + 1;
      while (q < t.size() && t[q] == ' ')
        q++;
      size_t s = q;
      while (q < t.size() && ident_char(t[q]))
        q++;
      if (q == s)
        continue; // an anonymous member or variable: part of an enclosing definition
      key = "typedef " + t.substr(s, q - s);
    }
    // The first definition of a name wins (a second one under #ifdef is another config's).
    defs.emplace(key, std::make_pair(body, c.line[i])); // nested definitions: found as the scan goes on
  }
  return defs;
}

} // namespace

std::vector<StructChange> changed_struct_definitions(const std::string &orig, const std::string &patched) {
  Clean co = clean(orig), cp = clean(patched);
  auto dorig = definitions(co), dpatched = definitions(cp);
  std::vector<StructChange> out;
  for (const auto &[name, def] : dorig) {
    auto it = dpatched.find(name);
    // A definition the patch removes changes nothing that exists: code that still used the
    // type would not compile (h-smb2pdu removes struct create_on_disk_id, used nowhere).
    if (it != dpatched.end() && it->second.first != def.first)
      out.push_back(StructChange{name, def.second});
  }
  std::sort(out.begin(), out.end(), [](const StructChange &a, const StructChange &b) { return a.line < b.line; });
  return out;
}

} // namespace kpg::build
