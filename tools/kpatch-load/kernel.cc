// SPDX-License-Identifier: GPL-2.0-only
#include "kernel.h"

#include <sstream>

#include <fmt/format.h>

#include "elf/notes.h"

namespace kpg::load {

static std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos)
    return {};
  size_t e = s.find_last_not_of(" \t\n");
  return s.substr(b, e - b + 1);
}

static std::vector<std::string> words(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w)
    out.push_back(w);
  return out;
}

VermagicFlags flags_from_config(const std::string &text, const std::string &source) {
  auto is_y = [&](std::string_view opt) {
    std::string needle = fmt::format("\n{}=y\n", opt);
    return ("\n" + text + "\n").find(needle) != std::string::npos;
  };
  auto mentioned = [&](std::string_view opt) { return text.find(fmt::format("{}", opt)) != std::string::npos; };
  VermagicFlags f;
  f.method = source;
  f.smp = is_y("CONFIG_SMP") ? Tri::Yes : Tri::No;
  // vermagic.h: "preempt " if CONFIG_PREEMPT_BUILD (PREEMPT and PREEMPT_DYNAMIC select it),
  // else "preempt_rt " if CONFIG_PREEMPT_RT. Kernels before 5.16 had no PREEMPT_BUILD and
  // keyed the word on CONFIG_PREEMPT.
  bool preempt = mentioned("CONFIG_PREEMPT_BUILD") ? is_y("CONFIG_PREEMPT_BUILD") : is_y("CONFIG_PREEMPT");
  f.preempt = preempt ? Tri::Yes : Tri::No;
  f.preempt_rt = (!preempt && is_y("CONFIG_PREEMPT_RT")) ? Tri::Yes : Tri::No;
  f.mod_unload = is_y("CONFIG_MODULE_UNLOAD") ? Tri::Yes : Tri::No;
  f.modversions = is_y("CONFIG_MODVERSIONS") ? Tri::Yes : Tri::No;
  return f;
}

VermagicFlags flags_from_runtime(const std::string &uts_version, const std::optional<std::string> &kallsyms) {
  VermagicFlags f;
  f.method = "run time (/proc/sys/kernel/version";
  bool smp = false, preempt = false, rt = false;
  for (const std::string &w : words(uts_version)) {
    if (w == "SMP")
      smp = true;
    else if (w == "PREEMPT" || w == "PREEMPT_DYNAMIC")
      preempt = true;
    else if (w == "PREEMPT_RT")
      rt = true;
  }
  if (!uts_version.empty()) {
    f.smp = smp ? Tri::Yes : Tri::No;
    f.preempt = preempt ? Tri::Yes : Tri::No;
    f.preempt_rt = (rt && !preempt) ? Tri::Yes : Tri::No;
  }
  if (kallsyms) {
    f.method += ", /proc/kallsyms";
    // Exact match on the symbol-name column of a vmlinux line: "<addr> T module_layout\n".
    std::string text = "\n" + *kallsyms;
    if (text.back() != '\n')
      text += '\n';
    auto has = [&](std::string_view sym) {
      for (char t : std::string_view("TtWw")) {
        if (text.find(fmt::format(" {} {}\n", t, sym)) != std::string::npos)
          return true;
      }
      return false;
    };
    f.mod_unload = has("module_refcount") ? Tri::Yes : Tri::No;
    f.modversions = has("module_layout") ? Tri::Yes : Tri::No;
  }
  f.method += ")";
  return f;
}

Expected<RunningKernel> probe_kernel(Fs &fs) {
  RunningKernel k;
  auto rel = fs.read("/proc/sys/kernel/osrelease");
  if (!rel)
    return make_error(rel.error().loc, "cannot read the running kernel's release: " + rel.error().message);
  k.release = trim(*rel);
  if (auto ver = fs.read("/proc/sys/kernel/version"))
    k.version = trim(*ver);

  if (auto notes = fs.read("/sys/kernel/notes")) {
    k.build_id = elf::find_gnu_build_id(std::span<const u8>(reinterpret_cast<const u8 *>(notes->data()), notes->size()));
    if (!k.build_id)
      k.build_id_problem = "/sys/kernel/notes has no GNU build ID note (kernel linked without --build-id?)";
  } else {
    k.build_id_problem = notes.error().str();
  }

  // Lockdown (integrity or confidentiality) makes the kernel refuse unsigned modules even
  // with sig_enforce=N (module_sig_check -> security_locked_down(LOCKDOWN_MODULE_SIGNATURE)).
  // The file reads e.g. "none [integrity] confidentiality".
  std::string lockdown;
  if (auto ld = fs.read("/sys/kernel/security/lockdown")) {
    size_t open = ld->find('['), close = ld->find(']');
    if (open != std::string::npos && close != std::string::npos && close > open)
      lockdown = ld->substr(open + 1, close - open - 1);
  }
  if (auto se = fs.read("/sys/module/module/parameters/sig_enforce"); se && trim(*se) == "Y") {
    k.sig_enforced = Tri::Yes;
    k.sig_enforced_by = "module.sig_enforce=Y";
  } else if (lockdown == "integrity" || lockdown == "confidentiality") {
    k.sig_enforced = Tri::Yes;
    k.sig_enforced_by = "lockdown=" + lockdown + ", as under Secure Boot";
  } else if (!se || !lockdown.empty()) {
    // No sig_enforce parameter: no CONFIG_MODULE_SIG, nothing is checked. Or lockdown is
    // known to be off and sig_enforce is N.
    k.sig_enforced = Tri::No;
  }

  std::string config_path = "/boot/config-" + k.release;
  if (auto cfg = fs.read(config_path)) {
    k.flags = flags_from_config(*cfg, config_path);
  } else {
    std::optional<std::string> kallsyms;
    if (auto ks = fs.read("/proc/kallsyms"))
      kallsyms = std::move(*ks);
    k.flags = flags_from_runtime(k.version, kallsyms);
  }
  return k;
}

CompatReport check_compat(const ModInfo &mi, const RunningKernel &k) {
  CompatReport r;
  const std::string &f = mi.path;
  if (!mi.is_livepatch()) {
    std::optional<std::string> lp = mi.get("livepatch");
    r.refusals.push_back(lp ? fmt::format("{}: .modinfo has livepatch={}, not livepatch=Y: not a livepatch module", f, *lp)
                            : fmt::format("{}: .modinfo has no livepatch=Y: not a livepatch module", f));
  }

  std::optional<std::string> vm = mi.get("vermagic");
  if (!vm) {
    r.refusals.push_back(fmt::format("{}: .modinfo has no vermagic: the kernel would refuse it (bad vermagic)", f));
  } else {
    std::vector<std::string> w = words(*vm);
    std::string mod_release = w.empty() ? "" : w[0];
    if (mod_release != k.release)
      r.refusals.push_back(fmt::format("{}: built for kernel release '{}' (vermagic '{}'), but the running kernel is '{}'",
                                       f, mod_release, trim(*vm), k.release));
    auto has_word = [&](std::string_view x) {
      for (size_t i = 1; i < w.size(); i++)
        if (w[i] == x)
          return true;
      return false;
    };
    struct FlagCheck {
      const char *word;
      Tri kernel;
    } checks[] = {{"SMP", k.flags.smp},
                  {"preempt", k.flags.preempt},
                  {"preempt_rt", k.flags.preempt_rt},
                  {"mod_unload", k.flags.mod_unload},
                  {"modversions", k.flags.modversions}};
    std::vector<std::string> unchecked;
    for (const FlagCheck &c : checks) {
      if (c.kernel == Tri::Unknown) {
        unchecked.push_back(c.word);
        continue;
      }
      bool want = c.kernel == Tri::Yes, have = has_word(c.word);
      if (want != have)
        r.refusals.push_back(fmt::format("{}: vermagic '{}' {} '{}', but the running kernel {} (derived from {})", f,
                                         trim(*vm), have ? "has" : "lacks", c.word, want ? "needs it" : "does not have it",
                                         k.flags.method));
    }
    if (!unchecked.empty())
      r.notes.push_back(fmt::format("{}: vermagic word(s) {} not checked: not derivable from {}", f,
                                    fmt::join(unchecked, ", "), k.flags.method));
    for (size_t i = 1; i < w.size(); i++) {
      bool known = false;
      for (const FlagCheck &c : checks)
        known |= w[i] == c.word;
      if (!known)
        r.notes.push_back(fmt::format("{}: vermagic word '{}' not checked here; the kernel checks it at load", f, w[i]));
    }
  }

  if (std::optional<std::string> rel = mi.get("kpg_target_release"); rel && *rel != k.release)
    r.refusals.push_back(
        fmt::format("{}: kpg_target_release is '{}', but the running kernel is '{}'", f, *rel, k.release));

  if (std::optional<std::string> bid = mi.get("kpg_target_build_id")) {
    std::optional<std::string> want = normalize_build_id(*bid);
    if (!want)
      r.refusals.push_back(fmt::format("{}: kpg_target_build_id '{}' is not an even-length hex string", f, *bid));
    else if (!k.build_id)
      r.refusals.push_back(fmt::format("{}: built for the kernel with build ID {}, but the running kernel's build ID "
                                       "cannot be read: {}",
                                       f, *want, k.build_id_problem));
    else if (*want != *k.build_id)
      r.refusals.push_back(fmt::format("{}: built for the kernel with build ID {}, but the running kernel's build ID is "
                                       "{} (same release, different build: function addresses and inlining may differ)",
                                       f, *want, *k.build_id));
  } else {
    r.notes.push_back(fmt::format("{}: no kpg_target_build_id in .modinfo; only the release and vermagic were checked", f));
  }

  // Whether a signature verifies is the kernel's to say (its keyrings are not readable from
  // here); whether there is one at all is not, and that is the common mistake.
  if (k.sig_enforced == Tri::Yes) {
    if (!mi.signature_problem.empty())
      r.refusals.push_back(fmt::format("{}: {}; this kernel only loads validly signed modules ({})", f,
                                       mi.signature_problem, k.sig_enforced_by));
    else if (!mi.signature)
      r.refusals.push_back(fmt::format("{}: the module is not signed, and this kernel only loads signed modules ({}): "
                                       "build it with `kpatch-gen build --sign-key KEY --sign-cert CERT` or sign it "
                                       "with `kpatch-gen sign`, using a key the kernel trusts (on Debian with Secure "
                                       "Boot: a key enrolled with mokutil)",
                                       f, k.sig_enforced_by));
  }
  return r;
}

} // namespace kpg::load
