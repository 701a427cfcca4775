#!/bin/bash
# e2e (issue 10, class 11): a patched module unloaded and loaded again while the patch is
# loaded (a firewall restart reloading nf_tables). Linux 6.1 does not clear the livepatch
# relocations a patch wrote into the module's patched code when the module goes away
# (upstream from 6.3), and x86 refuses to apply a relocation to a non-zero place, so the
# reload failed ("refusing to load module"). The generated module clears them from each
# module object's post_unpatch callback. examples/module-binfmt-misc (bm_status_read reads
# binfmt_misc's static `enabled` through a livepatch relocation) in the lab: load binfmt_misc
# and the patch, rmmod and insmod binfmt_misc twice with the probe passing each time, then
# unload the patch, probe fails, reload binfmt_misc once more; clean kernel log.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.module-reload
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir module-reload
ex="$EXAMPLES/module-binfmt-misc"
rc=0
kg_build "$WORK/out" build "$LAB" "$ex/module-binfmt-misc.patch" || rc=$?
[ "$rc" = 0 ] || { show_log "$WORK/out/build.log"; die "$EXIT_FAIL" "build of module-binfmt-misc exited $rc"; }
ko=$(jq -r '.output.module' "$WORK/out/build.json")
name=$(basename "$ko" .ko)
# The premise: the module carries a livepatch relocation into binfmt_misc's code.
readelf -SW "$ko" | has '\.klp\.rela\.binfmt_misc\.' || die "$EXIT_FAIL" "premise: no .klp.rela.binfmt_misc.* section in $ko"
g="$WORK/guest"
mkdir -p "$g"
cp "$ko" "$ex/setup" "$ex/probe" "$g/"
echo "$name" >"$g/name"
"$LAB_DIR/lab.sh" run "$BUILDER_TESTS/module-reload.scenario" --timeout 600 --log "$WORK/console.log" --add "$g:/kpg/reload" ||
	die "$EXIT_FAIL" "the lab run failed (console log: $WORK/console.log)"
log "PASS: binfmt_misc reloaded twice with its patch loaded; the probe followed"
