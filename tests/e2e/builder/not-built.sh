#!/bin/bash
# e2e: a fix to a file this kernel's configuration does not compile (drivers/tty/n_gsm.c:
# the lab config has no CONFIG_N_GSM: it needs NET) does not concern it. Alone, the build ends with
# "not built in this kernel (CONFIG_N_GSM is not set)", exit 3 and result "not-built", and
# nothing compiled for it; with a second, built file (fs/proc/cmdline.c) the module is built
# from that one and the report lists n_gsm.c as not built.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.not-built
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir not-built
cat >"$WORK/n_gsm.patch" <<'P'
--- a/drivers/tty/n_gsm.c
+++ b/drivers/tty/n_gsm.c
@@ -621,7 +621,7 @@
 		if ((control & ~PF) == UI || (control & ~PF) == UIH)
 			return;
 
-	pr_info("%s %d) %c: ", hdr, addr, "RC"[cr]);
+	pr_info("%s %d) %c:: ", hdr, addr, "RC"[cr]);
 
 	switch (control & ~PF) {
 	case SABM:
P
! grep -q '^CONFIG_N_GSM=' "$LAB/build/.config" || die "$EXIT_FAIL" "premise: the lab config builds n_gsm.c"
build() { # build OUT PATCH... -> $rc
	rc=0
	"$KPG_KPATCH_GEN" build "${@:2}" --kernel-src "$LAB/src" --target-vmlinux "$LAB/build/vmlinux" \
		-o "$WORK/$1" --json >"$WORK/$1.json" 2>"$WORK/$1.log" || rc=$?
}
build alone "$WORK/n_gsm.patch"
if [ "$rc" != 3 ] || [ "$(jq -r .result "$WORK/alone.json")" != not-built ]; then
	show_log "$WORK/alone.log"
	die "$EXIT_FAIL" "n_gsm.c alone: expected exit 3 and result not-built, got $rc / $(jq -r .result "$WORK/alone.json")"
fi
grep -q 'drivers/tty/n_gsm.c: not built in this kernel (CONFIG_N_GSM is not set' "$WORK/alone.log" ||
	die "$EXIT_FAIL" "the message does not name CONFIG_N_GSM: $(cat "$WORK/alone.log")"
[ "$(jq -r '.units[] | "\(.source) \(.result) \(.code)"' "$WORK/alone.json")" = "drivers/tty/n_gsm.c not-built NOT_BUILT" ] ||
	die "$EXIT_FAIL" "per-unit outcome: $(jq -c .units "$WORK/alone.json")"
! grep -q 'compile' <(jq -r '.timings | keys[]' "$WORK/alone.json") ||
	die "$EXIT_FAIL" "the build reached the compile stage for a file that is not built"
[ -z "$(find "$WORK/alone" -name '*.ko' 2>/dev/null)" ] || die "$EXIT_FAIL" "a module was written"
log "ok: n_gsm.c alone is not built (exit 3)"

build both "$WORK/n_gsm.patch" "$EXAMPLES/cmdline-string/cmdline-string.patch"
if [ "$rc" != 0 ]; then
	show_log "$WORK/both.log"
	die "$EXIT_FAIL" "n_gsm.c + cmdline.c: expected a module, got exit $rc"
fi
jq -r '.units[] | "\(.source) \(.result)"' "$WORK/both.json" | sort >"$WORK/units"
printf '%s\n' "drivers/tty/n_gsm.c not-built" "fs/proc/cmdline.c changed" >"$WORK/want"
diff "$WORK/want" "$WORK/units" || die "$EXIT_FAIL" "per-unit outcomes differ (above)"
[ "$(jq -r '[.objects[].functions[].name] | join(" ")' "$WORK/both.json")" = cmdline_proc_show ] ||
	die "$EXIT_FAIL" "the module patches $(jq -c '.objects' "$WORK/both.json")"
log "PASS: not-built units are reported and the built part of the patch still makes a module"
