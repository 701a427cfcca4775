// SPDX-License-Identifier: GPL-2.0-only
#include "builder/modgen.h"

#include <filesystem>
#include <fmt/format.h>

#include "builder/process.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

std::string sanitize_module_name(const std::string &wanted) {
  std::string s;
  for (char c : wanted)
    s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    s = "livepatch_" + s;
  if (s.size() > 55)
    s.resize(55);
  return s;
}

static std::string c_string(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}\"\"", static_cast<unsigned char>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

static std::string replace_all(std::string s, const std::string &from, const std::string &to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

Expected<std::string> render_module_source(const ModuleSpec &spec, const std::string &tmpl) {
  std::string decls, funcs, objs, modinfo, module_cbs;
  bool module_objects = false;
  int n = 0;
  for (const ModuleObject &o : spec.objects) {
    std::string arr = fmt::format("kpg_funcs_{}", n);
    funcs += fmt::format("static struct klp_func {}[] = {{\n", arr);
    int f = 0;
    for (const ModuleFunc &fn : o.funcs) {
      std::string var = fmt::format("kpg_new_{}_{}", n, f++);
      decls += fmt::format("extern char {}[] __asm__({});\n", var, c_string(fn.alias));
      funcs += fmt::format("\t{{\n\t\t.old_name = {},\n\t\t.new_func = {},\n\t\t.old_sympos = {},\n\t}},\n",
                           c_string(fn.old_name), var, fn.sympos);
    }
    funcs += "\t{ }\n};\n\n";
    std::string cbs;
    bool module = o.name != "vmlinux";
    module_objects |= module;
    for (const auto &[kind_enum, alias] : o.callbacks) {
      const char *kind = diff::callback_kind_name(kind_enum);
      std::string var = fmt::format("kpg_cb_{}_{}", n, kind);
      // Only pre_patch can refuse the patch (include/linux/livepatch.h, struct klp_callbacks).
      const char *ret = kind_enum == diff::CallbackKind::PrePatch ? "int" : "void";
      decls += fmt::format("extern {} {}(struct klp_object *obj) __asm__({});\n", ret, var, c_string(alias));
      if (!(module && kind_enum == diff::CallbackKind::PostUnpatch))
        cbs += fmt::format("\t\t\t.{} = {},\n", kind, var);
    }
    if (module) {
      // The module's relocations are cleared after the patch's own post_unpatch, if any.
      std::string var = fmt::format("kpg_going_{}", n);
      module_cbs += fmt::format("static void {}(struct klp_object *obj)\n{{\n", var);
      if (o.callbacks.count(diff::CallbackKind::PostUnpatch))
        module_cbs += fmt::format("\tkpg_cb_{}_post_unpatch(obj);\n", n);
      module_cbs += "\tkpg_clear_module_relocs(obj);\n}\n\n";
      cbs += fmt::format("\t\t\t.post_unpatch = {},\n", var);
    }
    objs += fmt::format("\t{{\n\t\t/* {} */\n\t\t.name = {},\n\t\t.funcs = {},\n", o.name,
                        o.name == "vmlinux" ? "NULL" : c_string(o.name), arr);
    if (!cbs.empty())
      objs += "\t\t.callbacks = {\n" + cbs + "\t\t},\n";
    objs += "\t},\n";
    n++;
  }
  if (!spec.description.empty())
    modinfo += fmt::format("MODULE_DESCRIPTION({});\n", c_string(spec.description));
  modinfo += fmt::format("MODULE_INFO(kpg_target_release, {});\n", c_string(spec.target_release));
  if (!spec.target_build_id.empty())
    modinfo += fmt::format("MODULE_INFO(kpg_target_build_id, {});\n", c_string(spec.target_build_id));
  for (const std::string &cve : spec.cves)
    modinfo += fmt::format("MODULE_INFO(kpg_cve, {});\n", c_string(cve));
  decls += fmt::format("#define KPG_MODULE_OBJECTS {}\n", module_objects ? 1 : 0);
  // MODULE_IMPORT_NS(X) as it expands: its argument is an identifier in 6.1 and a string
  // from 6.13 on, MODULE_INFO(import_ns, "X") means the same to every modpost.
  for (const std::string &ns : spec.import_ns)
    modinfo += fmt::format("MODULE_INFO(import_ns, {});\n", c_string(ns));
  std::string out = tmpl;
  for (const auto &[key, value] : {std::pair<std::string, std::string>{"@KPG_DECLARATIONS@", decls},
                                   {"@KPG_FUNCS@", funcs},
                                   {"@KPG_OBJECTS@", objs},
                                   {"@KPG_MODULE_CALLBACKS@", module_cbs},
                                   {"@KPG_REPLACE@", spec.replace ? "true" : "false"},
                                   {"@KPG_MODINFO@", modinfo}}) {
    if (out.find(key) == std::string::npos)
      return make_error(Location("templates/patch-module.c.in"), "template lacks " + key);
    out = replace_all(out, key, value);
  }
  return out;
}

Expected<std::string> build_module(const PreparedTree &tree, const ModuleSpec &spec, const std::string &templates_dir,
                                   int jobs, Progress &progress) {
  std::string dir = tree.module_dir();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(Location(dir), "cannot create: " + ec.message());
  auto tmpl = read_text_file(templates_dir + "/patch-module.c.in");
  if (!tmpl)
    return std::move(tmpl).take_error();
  auto src = render_module_source(spec, *tmpl);
  if (!src)
    return std::move(src).take_error();
  if (auto w = write_text_file_atomic(dir + "/kpg_patch.c", *src); !w)
    return std::move(w).take_error();
  std::string objs;
  for (size_t i = 0; i < spec.diff_objects.size(); i++) {
    std::string name = fmt::format("kpg_d{}.o", i);
    fs::copy_file(spec.diff_objects[i], dir + "/" + name, fs::copy_options::overwrite_existing, ec);
    if (ec)
      return make_error(Location(spec.diff_objects[i]), "cannot copy into the module directory: " + ec.message());
    // kbuild has no rule to make these (no kpg_dN.c), so it links them as they are; an
    // empty command file keeps modpost's and fixdep's bookkeeping quiet.
    if (auto w = write_text_file_atomic(dir + "/." + name + ".cmd", ""); !w)
      return std::move(w).take_error();
    objs += (objs.empty() ? "" : " ") + name;
  }
  auto kb = read_text_file(templates_dir + "/Kbuild.in");
  if (!kb)
    return std::move(kb).take_error();
  std::string kbuild = replace_all(replace_all(*kb, "@KPG_NAME@", spec.name), "@KPG_DIFF_OBJECTS@", objs);
  if (auto w = write_text_file_atomic(dir + "/Kbuild", kbuild); !w)
    return std::move(w).take_error();
  Command c;
  c.argv = {"make", "-C", tree.orig_obj(), "M=" + dir, fmt::format("-j{}", jobs)};
  for (const std::string &v : tree.make_vars())
    c.argv.push_back(v);
  c.argv.push_back("modules");
  c.log = tree.dir() + "/module.log";
  fs::remove(c.log, ec);
  progress.note(command_line(c));
  auto rc = run(c);
  if (!rc)
    return std::move(rc).take_error();
  if (*rc != 0)
    return make_error(Location(c.log), fmt::format("linking the live patch module failed (exit {}):\n{}", *rc,
                                                   log_tail(c.log)));
  std::string ko = dir + "/" + spec.name + ".ko";
  if (!fs::exists(ko))
    return make_error(Location(ko), "kbuild reported success but produced no module");
  return ko;
}

} // namespace kpg::build
