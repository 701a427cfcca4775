// SPDX-License-Identifier: GPL-2.0-only
#include "loader.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

namespace kpg::load {

static double secs(i64 ms) { return static_cast<double>(ms) / 1000.0; }

// What finit_module's errno means for a livepatch module, in the kernel's own terms.
static std::string explain_load_errno(int err) {
  switch (err) {
  case EEXIST: return "a module with this name is already loaded";
  case EBUSY: return "klp_enable_patch() found another livepatch transition in progress (one at a time)";
  case EINVAL:
    return "klp_enable_patch() rejected the patch: a function or symbol to patch was not found or is ambiguous, "
           "or it is incompatible with the states of the livepatches already loaded (see dmesg)";
  case ENOEXEC: return "the kernel rejected the module format or its vermagic (see dmesg)";
  case ENOENT: return "the module refers to a symbol the kernel does not export (see dmesg: \"Unknown symbol\")";
  case EPERM:
    return "not permitted: needs CAP_SYS_MODULE, and module loading may be disabled (kernel.modules_disabled) or "
           "blocked by lockdown";
  case EKEYREJECTED:
  case ENOKEY:
  case EBADMSG:
  case ENOPKG: return "the kernel rejected the module's signature";
  case ENODEV: return "a pre-patch callback of the module refused the patch (see dmesg)";
  case ENOSYS: return "this kernel has no module support";
  default: return "see dmesg for the kernel's reason";
  }
}

// What the file itself says about a signature the kernel rejected (or, under lockdown,
// EPERM for an unsigned module): the kernel logs one terse line, and the two causes need
// different fixes.
static std::string explain_signature(int err, const ModInfo &mi) {
  if (err != EKEYREJECTED && err != ENOKEY && err != EBADMSG && err != ENOPKG && err != EPERM)
    return "";
  if (!mi.signature_problem.empty())
    return fmt::format(". The module's signature trailer is malformed: {}", mi.signature_problem);
  if (!mi.signature)
    return err == EPERM ? ". The module is not signed: under lockdown (Secure Boot) the kernel loads signed modules only"
                        : ". The module is not signed: sign it with `kpatch-gen sign` (or build with --sign-key) "
                          "using a key the kernel trusts";
  if (err == EPERM)
    return ""; // signed: EPERM is about privileges or modules_disabled, not the signature
  return fmt::format(". The module carries a PKCS#7 signature ({} bytes over {} bytes of module) that the kernel did "
                     "not accept: its key is not in the kernel's keyrings (built-in, secondary, or machine/MOK keys "
                     "on Debian with Secure Boot), or the module was changed after it was signed (for example "
                     "stripped); `kpatch-gen inspect` shows the signer",
                     mi.signature->sig_size, mi.signature->module_size);
}

std::vector<std::string> loaded_livepatch_modules(Fs &fs) {
  std::vector<std::string> patches = list_patches(fs);
  std::vector<std::string> out;
  for (const std::string &m : modules_newest_first(fs))
    if (std::find(patches.begin(), patches.end(), m) != patches.end() || module_is_livepatch(fs, m))
      out.push_back(m);
  // Patch directories whose module /proc/modules did not list (a racing load, or a test tree
  // without /proc/modules): after the others, in name order.
  for (const std::string &p : patches)
    if (std::find(out.begin(), out.end(), p) == out.end())
      out.push_back(p);
  return out;
}

OpResult remove_module_when_free(Host &host, Reporter &rep, const std::string &name, i64 timeout_ms) {
  OpResult res;
  const i64 start = host.clock.now_ms();
  i64 interval = 20;
  bool told = false;
  for (;;) {
    if (!module_loaded(host.fs, name))
      return res;
    std::optional<i64> ref = module_refcnt(host.fs, name);
    // klp_free_patch_finish() drops the patch's module reference from a work item after the
    // sysfs directory is gone, so refcnt reaches 0 a little after the transition completes.
    // delete_module(O_NONBLOCK) would fail with EWOULDBLOCK before that; ask only at 0.
    if (!ref || *ref == 0) {
      int err = host.sys.delete_module(name);
      if (err == 0 || err == ENOENT) {
        rep.step(fmt::format("{}: module removed", name));
        return res;
      }
      if (err != EWOULDBLOCK && err != EBUSY) {
        res.fail(ExitCode::Error, fmt::format("{}: delete_module failed: {}", name, errno_text(err)));
        return res;
      }
    }
    i64 elapsed = host.clock.now_ms() - start;
    if (elapsed >= timeout_ms) {
      res.fail(ExitCode::Error,
               fmt::format("{}: module still in use after {:.1f} s (refcnt {}); not removed", name, secs(elapsed),
                           ref ? std::to_string(*ref) : std::string("unreadable")));
      return res;
    }
    if (!told && elapsed >= 1000) {
      rep.step(fmt::format("{}: waiting for the module's references to drop (refcnt {})", name,
                           ref ? std::to_string(*ref) : std::string("unreadable")));
      told = true;
    }
    host.clock.sleep_ms(std::min(interval, timeout_ms - elapsed));
    interval = std::min<i64>(500, interval * 2);
  }
}

// After a forced transition the kernel keeps some module references forever
// (klp_free_patch_finish skips module_put for patches marked forced): say which.
static std::string forced_cost(const std::string &patch, int target, const std::vector<std::string> &replaced) {
  if (target == kUnpatched)
    return fmt::format("{}: the kernel will never drop its reference to module {}; it cannot be removed until reboot",
                       patch, patch);
  if (replaced.empty())
    return fmt::format("{}: transition forced; tasks were switched without the consistency check", patch);
  return fmt::format("{}: transition forced; the replaced patches' modules ({}) can never be removed until reboot",
                     patch, fmt::join(replaced, ", "));
}

// Reverses an unfinished transition and waits for the reversed one: `target` is where the
// failed transition was heading. Returns true when the reversed transition completed.
static bool reverse_and_wait(Host &host, Reporter &rep, const std::string &patch, int target, const WaitOptions &wopts,
                             OpResult &res) {
  // enabled_store(): while this patch is klp_transition_patch, writing the opposite value
  // calls klp_reverse_transition(), which flips the target and restarts the transition:
  // tasks that already switched become the pending ones, nobody is forced. (Outside a
  // transition writing 0 is an ordinary disable, which is also what we want if the
  // transition completed just before our write; writing 1 there is -EINVAL.)
  const int back = target == kPatched ? kUnpatched : kPatched;
  int err = host.fs.write_attr(kLivepatchDir + "/" + patch + "/enabled", back == kPatched ? "1" : "0");
  if (err != 0 && err != EINVAL) {
    res.fail(ExitCode::NotReverted, fmt::format("{}: cannot reverse the transition: writing {}/{}/enabled failed: {}",
                                                patch, kLivepatchDir, patch, errno_text(err)));
    return false;
  }
  rep.step(fmt::format("{}: reversing: waiting for the {} transition", patch, target_word(back)));
  WaitOptions w = wopts;
  w.force_after_ms.reset(); // never force a reversal: it exists to avoid forcing
  WaitResult wr = wait_for_transition(host, rep, patch, back, w);
  if (wr.end == WaitEnd::Done)
    return true;
  std::string why = wr.end == WaitEnd::TimedOut
                        ? fmt::format("the reversed transition did not complete within {:.1f} s either; the kernel "
                                      "keeps retrying. Still pending:\n{}",
                                      secs(wr.elapsed_ms), format_blockers(wr.blockers, wr.pending_at_end))
                        : wr.problem;
  res.fail(ExitCode::NotReverted, fmt::format("{}: the system is NOT back to its previous state: {}", patch, why));
  return false;
}

// How load and unload end a transition that did not complete (wr.end != Done), the same way
// for both: a timeout is reversed (reverse_and_wait), then `after_reverse` does what is left
// for the system to be as before (a load removes its module) and says what state that left,
// or records its own failure and returns nothing; anything else the wait saw (the patch
// vanished, someone else reversed it, its state became unreadable) is an error, and the patch
// is left as it is rather than acted on blindly. Returns true when the transition completed
// and the caller goes on; false when `res` holds the outcome.
static bool settle_transition(Host &host, Reporter &rep, const std::string &name, int target, const WaitResult &wr,
                              const WaitOptions &wopts, OpResult &res,
                              const std::function<std::optional<std::string>(OpResult &)> &after_reverse) {
  switch (wr.end) {
  case WaitEnd::Done: return true;
  case WaitEnd::TimedOut: {
    std::string blockers = format_blockers(wr.blockers, wr.pending_at_end);
    // The blockers go into the final error (the stall warnings already showed them while
    // waiting); repeating them here too would bury the one line that says what happens next.
    rep.warn(fmt::format("{}: {} did not complete within {:.1f} s; reversing", name, target_word(target),
                         secs(wr.elapsed_ms)));
    if (!reverse_and_wait(host, rep, name, target, wopts, res))
      return false;
    std::optional<std::string> state = after_reverse(res);
    if (!state)
      return false;
    res.fail(ExitCode::Reverted, fmt::format("{}: {} transition timed out after {:.1f} s; it was reversed and {}. "
                                             "Tasks that blocked it:\n{}",
                                             name, target_word(target), secs(wr.elapsed_ms), *state, blockers));
    return false;
  }
  case WaitEnd::Vanished:
  case WaitEnd::Reversed:
  case WaitEnd::Unreadable: res.fail(ExitCode::Error, fmt::format("{}: {}; left as it is", name, wr.problem)); return false;
  }
  return false;
}

std::optional<CheckedModule> check_module(Host &host, Reporter &rep, OpResult &res, const std::string &ko_path,
                                          const char *not_done) {
  auto mi = read_modinfo(ko_path);
  if (!mi) {
    res.fail(ExitCode::Refused, mi.error().str());
    return std::nullopt;
  }
  auto kernel = probe_kernel(host.fs);
  if (!kernel) {
    res.fail(ExitCode::Error, kernel.error().str());
    return std::nullopt;
  }
  CompatReport compat = check_compat(*mi, *kernel);
  for (const std::string &n : compat.notes)
    rep.note(n);
  if (!compat.refusals.empty()) {
    for (const std::string &r : compat.refusals)
      res.fail(ExitCode::Refused, fmt::format("{}; not {}", r, not_done));
    return std::nullopt;
  }
  return CheckedModule{std::move(*mi), std::move(*kernel)};
}

OpResult load_module(Host &host, Reporter &rep, Store *store, const std::string &ko_path, const LoadOptions &opts) {
  OpResult res;
  auto checked = check_module(host, rep, res, ko_path, "loaded");
  if (!checked)
    return res;
  const ModInfo &mi = checked->info;
  const std::string &name = mi.name;

  PatchState existing = read_patch_state(host.fs, name);
  if (existing.present) {
    res.fail(ExitCode::Refused, fmt::format("{}: a livepatch named {} is already loaded ({}/{}); unload it first",
                                            ko_path, name, kLivepatchDir, name));
    return res;
  }
  for (const std::string &p : list_patches(host.fs)) {
    PatchState ps = read_patch_state(host.fs, p);
    if (ps.transition.value_or(false)) {
      res.fail(ExitCode::Refused,
               fmt::format("{}: livepatch {} is still in its {} transition and the kernel runs one transition at a "
                           "time; not loaded",
                           ko_path, p, ps.enabled.value_or(true) ? "patching" : "unpatching"));
      return res;
    }
  }
  if (module_loaded(host.fs, name)) {
    // A livepatch module without a patch directory was disabled or replaced and is inert;
    // the kernel would answer EEXIST. Remove it, as re-loading is what the operator asked for.
    if (!module_is_livepatch(host.fs, name)) {
      res.fail(ExitCode::Refused, fmt::format("{}: a module named {} is already loaded and it is not a livepatch", ko_path, name));
      return res;
    }
    rep.step(fmt::format("{}: removing the inactive (disabled or replaced) module of the same name first", name));
    OpResult rm = remove_module_when_free(host, rep, name, opts.refcnt_timeout_ms);
    if (rm.code != ExitCode::Ok) {
      res.merge(rm);
      return res;
    }
  }

  std::vector<std::string> before = list_patches(host.fs);
  rep.step(fmt::format("{}: loading {}", name, ko_path));
  // The transition starts inside finit_module (klp_enable_patch runs from the module's init
  // and already tries to switch every task once), so its time counts from here.
  const i64 t0 = host.clock.now_ms();
  int err = host.sys.load_module(ko_path, "");
  const i64 finit_ms = host.clock.now_ms() - t0;
  if (err != 0) {
    res.fail(ExitCode::Error, fmt::format("{}: finit_module failed: {}: {}{}", ko_path, errno_text(err),
                                          explain_load_errno(err), explain_signature(err, mi)));
    return res;
  }
  if (store) {
    LoadedRecord rec{name,
                     ko_path,
                     mi.get("vermagic").value_or(""),
                     mi.get("kpg_target_release").value_or(""),
                     normalize_build_id(mi.get("kpg_target_build_id").value_or("")).value_or(""),
                     read_boot_id(host.fs),
                     host.clock.wall_time()};
    if (auto r = store->record_loaded(rec); !r)
      rep.warn(fmt::format("{}: cannot record the load ({}); status will show its target kernel as unknown", name,
                           r.error().str()));
  }

  rep.step(fmt::format("{}: patching transition started (timeout {:.0f} s)", name, secs(opts.wait.timeout_ms)));
  WaitResult wr = wait_for_transition(host, rep, name, kPatched, opts.wait);
  res.transition_ms = finit_ms + wr.elapsed_ms;
  // A reversed load leaves an inert module behind: remove it, so the system ends as it began.
  auto remove_reverted = [&](OpResult &r) -> std::optional<std::string> {
    OpResult rm = remove_module_when_free(host, rep, name, opts.refcnt_timeout_ms);
    if (rm.code != ExitCode::Ok) {
      r.fail(ExitCode::NotReverted, fmt::format("{}: transition reversed, but the module could not be removed: {}", name,
                                                fmt::join(rm.errors, "; ")));
      return std::nullopt;
    }
    if (store)
      store->forget_loaded(name);
    return std::string("the module removed, the system is as before");
  };
  if (!settle_transition(host, rep, name, kPatched, wr, opts.wait, res, remove_reverted))
    return res;

  // Atomic replace: patches that were active before and whose directories are gone now were
  // replaced by this one (klp_complete_transition unpatches and frees them). Their modules
  // stay loaded, inert, until removed.
  for (const std::string &p : before)
    if (p != name && !read_patch_state(host.fs, p).present)
      res.replaced.push_back(p);
  if (wr.forced) {
    res.code = worse(res.code, ExitCode::Forced);
    rep.warn(forced_cost(name, kPatched, res.replaced));
  }
  rep.step(fmt::format("{}: patched in {:.3f} s (finit_module {:.3f} s){}", name, secs(res.transition_ms),
                       secs(finit_ms),
                       res.replaced.empty() ? "" : fmt::format(", replacing {}", fmt::join(res.replaced, ", "))));
  if (!opts.keep_replaced && !wr.forced) {
    for (const std::string &p : res.replaced) {
      OpResult rm = remove_module_when_free(host, rep, p, opts.refcnt_timeout_ms);
      res.merge(rm);
      if (store && rm.code == ExitCode::Ok)
        store->forget_loaded(p);
    }
  }
  return res;
}

OpResult unload_patch(Host &host, Reporter &rep, Store *store, const std::string &name, const LoadOptions &opts) {
  OpResult res;
  PatchState st = read_patch_state(host.fs, name);
  if (!st.present) {
    if (module_loaded(host.fs, name) && module_is_livepatch(host.fs, name)) {
      rep.step(fmt::format("{}: not active (disabled or replaced); removing the module", name));
      res.merge(remove_module_when_free(host, rep, name, opts.refcnt_timeout_ms));
      if (store && res.code == ExitCode::Ok)
        store->forget_loaded(name);
      return res;
    }
    res.fail(ExitCode::Error, fmt::format("{}: no such livepatch is loaded ({}/{} does not exist)", name, kLivepatchDir, name));
    return res;
  }
  if (!st.problem.empty()) {
    res.fail(ExitCode::Error, fmt::format("{}: cannot tell the patch's state: {}; not touching it", name, st.problem));
    return res;
  }

  // Like a load's finit_module, the write to enabled already runs the kernel's first
  // attempt to switch every task, so the transition time counts from the (last) write.
  i64 t_write = host.clock.now_ms();
  if (*st.enabled) {
    // Writing 0 disables; if this patch is still patching, the same write reverses that.
    // EBUSY: another patch is in transition (__klp_disable_patch refuses); wait for it.
    const i64 start = host.clock.now_ms();
    i64 interval = 50;
    for (;;) {
      t_write = host.clock.now_ms();
      int err = host.fs.write_attr(kLivepatchDir + "/" + name + "/enabled", "0");
      if (err == 0)
        break;
      i64 elapsed = host.clock.now_ms() - start;
      if (err == EBUSY && elapsed < opts.wait.timeout_ms) {
        if (interval == 50)
          rep.step(fmt::format("{}: another livepatch is in transition; waiting to disable", name));
        host.clock.sleep_ms(interval);
        interval = std::min<i64>(500, interval * 2);
        continue;
      }
      // EINVAL: enabled is already 0 (someone else disabled it meanwhile); then just wait.
      PatchState now = read_patch_state(host.fs, name);
      if (!now.present || (err == EINVAL && now.enabled == false))
        break;
      res.fail(ExitCode::Error,
               err == EBUSY ? fmt::format("{}: another livepatch stayed in transition for {:.1f} s; not disabled", name,
                                          secs(elapsed))
                            : fmt::format("{}: writing {}/{}/enabled failed: {}", name, kLivepatchDir, name,
                                          errno_text(err)));
      return res;
    }
  }
  rep.step(fmt::format("{}: unpatching transition started (timeout {:.0f} s)", name, secs(opts.wait.timeout_ms)));
  WaitResult wr = wait_for_transition(host, rep, name, kUnpatched, opts.wait);
  res.transition_ms = host.clock.now_ms() - t_write;
  auto still_applied = [](OpResult &) -> std::optional<std::string> {
    return std::string("the patch is fully applied again (still loaded)");
  };
  if (!settle_transition(host, rep, name, kUnpatched, wr, opts.wait, res, still_applied))
    return res;
  if (wr.forced) {
    res.code = worse(res.code, ExitCode::Forced);
    rep.warn(forced_cost(name, kUnpatched, {}));
    rep.step(fmt::format("{}: disabled by force in {:.3f} s; module stays loaded", name, secs(res.transition_ms)));
    return res;
  }
  rep.step(fmt::format("{}: unpatched in {:.3f} s", name, secs(res.transition_ms)));
  OpResult rm = remove_module_when_free(host, rep, name, opts.refcnt_timeout_ms);
  res.merge(rm);
  if (store && rm.code == ExitCode::Ok)
    store->forget_loaded(name);
  return res;
}

OpResult unload_all(Host &host, Reporter &rep, Store *store, const LoadOptions &opts) {
  OpResult res;
  std::vector<std::string> mods = loaded_livepatch_modules(host.fs);
  if (mods.empty()) {
    rep.step("no livepatch modules loaded");
    return res;
  }
  // Newest first: with stacked (non-replace) patches the newest one is on top of every
  // function's stack, so this order never exposes an older patch's code "under" a newer one.
  for (const std::string &m : mods) {
    OpResult one = unload_patch(host, rep, store, m, opts);
    res.merge(one);
  }
  return res;
}

} // namespace kpg::load
