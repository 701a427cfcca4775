// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen inspect MODULE.ko`: what a live patch module patches and for which kernel --
// from its manifest (written by the builder), its .modinfo and its livepatch relocations;
// and who signed it, when it carries a module signature.
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

#include "builder/postlink.h"
#include "builder/sign.h"
#include "builder/verify.h"
#include "commands.h"
#include "elf/reader.h"
#include "support/file.h"
#include "support/diag.h"

using nlohmann::json;

namespace kpg::cli {

CLI::App *add_inspect_command(CLI::App &app, InspectArgs &a) {
  CLI::App *c = app.add_subcommand("inspect", "show what a live patch module patches and for which kernel");
  c->footer("Exit codes: 0 ok, 1 not a readable live patch module, 2 usage.");
  c->add_option("MODULE", a.module, "live patch module (.ko)")->required()->check(CLI::ExistingFile);
  c->add_flag("--json", a.json, "print JSON");
  return c;
}

ExitCode run_inspect_command(const InspectArgs &a) {
  Diag diag;
  diag.set_program("kpatch-gen inspect");
  auto ko = elf::read_object(a.module);
  if (!diag.check(ko))
    return ExitCode::Failed;
  json out;
  out["module"] = a.module;
  if (auto mi = ko->find_section(".modinfo")) {
    json info = json::object();
    for (auto &[k, v] : build::modinfo_all(ko->sections[*mi].data)) {
      if (info.contains(k)) {
        if (!info[k].is_array())
          info[k] = json::array({info[k]});
        info[k].push_back(v);
      } else {
        info[k] = v;
      }
    }
    out["modinfo"] = info;
  }
  if (!out.contains("modinfo") || out["modinfo"].value("livepatch", "") != "Y") {
    diag.error(Location(a.module), "not a live patch module (no livepatch=Y in .modinfo)");
    return ExitCode::Failed;
  }
  if (auto m = ko->find_section(build::MANIFEST_SECTION)) {
    const auto &d = ko->sections[*m].data;
    out["manifest"] = json::parse(d.begin(), d.end(), nullptr, false);
  }
  // The appended signature, if any: who signed (as the PKCS#7 message names the signer) and
  // with which digest. Whether it verifies is for the kernel and its keyring to say.
  if (auto bytes = read_file(a.module); !diag.check(bytes)) {
    return ExitCode::Failed;
  } else if (auto sig = build::read_module_signature(*bytes, a.module); !sig) {
    out["signature"] = {{"problem", sig.error().message}};
  } else if (*sig) {
    const build::SignatureInfo &si = **sig;
    out["signature"] = {{"format", "pkcs7"}, {"hash", si.hash},     {"size", si.sig_size}, {"signed_bytes", si.module_size},
                        {"issuer", si.issuer}, {"serial", si.serial}, {"key_id", si.key_id}};
  } else {
    out["signature"] = nullptr;
  }
  std::map<std::string, size_t> klp;
  for (const elf::ExtraRelocSection &x : ko->extra_relocs)
    klp[x.name] += x.relocs.size();
  out["klp_relocation_sections"] = klp;
  if (a.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return ExitCode::Ok;
  }
  const json &mi = out["modinfo"];
  std::printf("module:   %s (%s)\n", mi.value("name", "?").c_str(), a.module.c_str());
  std::printf("kernel:   %s  vermagic \"%s\"\n", mi.value("kpg_target_release", "?").c_str(), mi.value("vermagic", "?").c_str());
  std::printf("build id: %s\n", mi.value("kpg_target_build_id", "(not recorded)").c_str());
  if (mi.contains("description"))
    std::printf("about:    %s\n", mi["description"].get<std::string>().c_str());
  if (mi.contains("kpg_cve")) {
    std::string cves = mi["kpg_cve"].is_array() ? mi["kpg_cve"].dump() : mi["kpg_cve"].get<std::string>();
    std::printf("cves:     %s\n", cves.c_str());
  }
  if (out.contains("manifest") && out["manifest"].is_object()) {
    const json &m = out["manifest"];
    std::printf("replace:  %s\n", m.value("replace", true) ? "yes (atomic replace of older patches)" : "no (stacks)");
    for (const json &o : m["objects"]) {
      std::printf("object %s:\n", o["name"].get<std::string>().c_str());
      for (const json &f : o["functions"])
        std::printf("  %s%s  (%s)\n", f["name"].get<std::string>().c_str(),
                    f["sympos"].get<u64>() ? fmt::format(",{}", f["sympos"].get<u64>()).c_str() : "",
                    f["unit"].get<std::string>().c_str());
      for (const json &c : o["callbacks"])
        std::printf("  callback %s\n", c.get<std::string>().c_str());
    }
  } else {
    std::printf("(no kpatch-gen manifest: built by another tool)\n");
  }
  for (const auto &[sec, n] : klp)
    std::printf("%s: %zu livepatch relocation(s)\n", sec.c_str(), n);
  const json &sig = out["signature"];
  if (sig.is_null())
    std::printf("signed:   no\n");
  else if (sig.contains("problem"))
    std::printf("signed:   malformed signature: %s\n", sig["problem"].get<std::string>().c_str());
  else {
    std::string who = sig["key_id"].get<std::string>().empty()
                          ? fmt::format("issuer \"{}\", serial {}", sig["issuer"].get<std::string>(),
                                        sig["serial"].get<std::string>())
                          : fmt::format("key id {}", sig["key_id"].get<std::string>());
    std::printf("signed:   PKCS#7, %s, %llu bytes; signer %s\n", sig["hash"].get<std::string>().c_str(),
                static_cast<unsigned long long>(sig["size"].get<u64>()), who.c_str());
  }
  return ExitCode::Ok;
}

} // namespace kpg::cli
