// SPDX-License-Identifier: GPL-2.0-only
//
// Facts about the running kernel, and whether a module was built for it.
//
// The kernel itself refuses a module whose vermagic differs (check_modinfo -> same_magic), but
// only after finit_module, with a one-line dmesg message; and it cannot know that a livepatch
// was built against a *different build* of the same release (a rebuilt distro kernel keeps
// its release string while every function address and inlining decision may differ). So the
// loader checks, before anything is loaded:
//
//  1. release: the first vermagic word must equal /proc/sys/kernel/osrelease exactly.
//  2. vermagic flags ("SMP preempt mod_unload modversions ..."): there is no sysfs file with the
//     running kernel's vermagic, so each flag is derived, from the best source available:
//       a. the kernel's own config, /boot/config-<release>, when present (authoritative:
//          include/linux/vermagic.h builds the string from CONFIG_SMP, CONFIG_PREEMPT_BUILD /
//          CONFIG_PREEMPT_RT, CONFIG_MODULE_UNLOAD, CONFIG_MODVERSIONS);
//       b. otherwise at run time:
//          - SMP, preempt, preempt_rt: init/Makefile writes the words SMP, PREEMPT,
//            PREEMPT_DYNAMIC (both imply CONFIG_PREEMPT_BUILD) or PREEMPT_RT into UTS_VERSION,
//            which is /proc/sys/kernel/version;
//          - mod_unload: /proc/kallsyms lists module_refcount, which kernel/module/main.c
//            defines and exports only under CONFIG_MODULE_UNLOAD;
//          - modversions: /proc/kallsyms lists module_layout, the exported dummy function that
//            kernel/module/version.c (built only for CONFIG_MODVERSIONS) provides as the anchor
//            of every module's CRC check.
//          (livepatch needs CONFIG_KALLSYMS_ALL, so kallsyms is always there when it matters;
//          symbol *names* are readable even when kptr_restrict hides addresses.)
//     A flag that cannot be derived is reported as not checked; RANDSTRUCT seeds and arch words
//     are never derivable and are left to the kernel's own check.
//  3. build ID: when the module carries kpg_target_build_id (see modinfo.h), it must equal the
//     GNU build ID note of the running vmlinux, read from /sys/kernel/notes (the raw .notes
//     section: a stream of {namesz, descsz, type, name, desc} records, 4-byte aligned).
//  4. signature: an unsigned module (or one whose signature trailer the kernel would reject)
//     is refused when the kernel enforces module signatures (see RunningKernel::sig_enforced):
//     the kernel would answer EKEYREJECTED (or EPERM under lockdown) with one dmesg line.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "modinfo.h"
#include "support/error.h"
#include "sys.h"

namespace kpg::load {

enum class Tri { No, Yes, Unknown };

// The vermagic words a module built for this kernel must carry (one Tri per word), and how
// each was found out.
struct VermagicFlags {
  Tri smp = Tri::Unknown;
  Tri preempt = Tri::Unknown;    // "preempt"
  Tri preempt_rt = Tri::Unknown; // "preempt_rt"
  Tri mod_unload = Tri::Unknown;
  Tri modversions = Tri::Unknown;
  std::string method; // e.g. "/boot/config-6.1.0" or "run time (/proc/sys/kernel/version, /proc/kallsyms)"
};

struct RunningKernel {
  std::string release; // /proc/sys/kernel/osrelease, trimmed
  std::string version; // /proc/sys/kernel/version (UTS_VERSION), trimmed
  std::optional<std::string> build_id; // lowercase hex, from /sys/kernel/notes
  std::string build_id_problem;        // why build_id is missing, for messages
  VermagicFlags flags;
  // Whether the kernel loads only validly signed modules, and what says so:
  // /sys/module/module/parameters/sig_enforce is Y (CONFIG_MODULE_SIG_FORCE, or
  // module.sig_enforce=1 on the command line), or lockdown is on (/sys/kernel/security/lockdown
  // shows [integrity] or [confidentiality]; Debian turns it on under Secure Boot). No when
  // the kernel has no CONFIG_MODULE_SIG (no sig_enforce parameter) and no lockdown; Unknown
  // when securityfs is not mounted and sig_enforce says N.
  Tri sig_enforced = Tri::Unknown;
  std::string sig_enforced_by;
};

// Reads the facts; fails only when the release itself cannot be read.
Expected<RunningKernel> probe_kernel(Fs &fs);

// Derivations, exposed for tests.
VermagicFlags flags_from_config(const std::string &config_text, const std::string &source);
VermagicFlags flags_from_runtime(const std::string &uts_version, const std::optional<std::string> &kallsyms);

struct CompatReport {
  std::vector<std::string> refusals; // each one full sentence; non-empty means "do not load"
  std::vector<std::string> notes;    // what was not checked and why
};

// Everything that must hold before `mi` may be loaded into `k`.
CompatReport check_compat(const ModInfo &mi, const RunningKernel &k);

} // namespace kpg::load
