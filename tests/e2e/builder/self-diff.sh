#!/bin/bash
# e2e: the diff engine on every object of the lab kernel compiled with -ffunction-sections
# -fdata-sections (the way the builder compiles units): `kpatch-gen diff X.o X.o` must exit
# 3 (no functional change) and print no error, for each one. A failure here is an engine
# bug on real kernel code that no example happens to touch.
#
# The objects: every member of the lab build's vmlinux.a plus every object its *.mod
# files list (the modules), i.e. all that is linked into vmlinux or a module. (The boot
# decompressor, real-mode and vDSO images, host tools and *.mod.o stubs are not kernel code
# a live patch could change, and are left out.)
#
# They are compiled in a scratch O= dir over the lab's pristine src/ with the lab's .config,
# never in the lab's build/ dir, and never linked or booted (a function-sections vmlinux
# link prints ~50k orphan-section warnings and is slow; objects are what the builder
# diffs). The dir is cached next to the lab kernel, keyed by it:
# <cache>/lab/scratch-<kernel>/fsections/ (first run: about a kernel build on 2 cores;
# later runs only diff).
#
#   KPG_KPATCH_GEN=build/kpatch-gen/kpatch-gen tests/e2e/builder/self-diff.sh [OBJECT...]
#
# With OBJECTs (paths relative to the build dir, e.g. fs/proc/cmdline.o) only those are
# diffed. Prints the number of objects, the compile and diff times, and every failure with
# its exit code and first error line. Exit 0 only if every object passed.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=builder.self-diff
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_kpatch_gen
need_tool make ar flock xargs
find_lab_kernel
make_work_dir builder-self-diff

SCR="$(dirname "$LAB")/scratch-$(basename "$LAB")/fsections"
readonly SCR
readonly KCF="-ffunction-sections -fdata-sections"

# Every object linked into vmlinux or a module of the lab build, one per line.
lab_objects() {
	(
		cd "$LAB/build"
		ar t vmlinux.a
		find . -name '*.mod' -printf '%P\n' | sort | while IFS= read -r m; do tr -s '[:blank:]' '\n' <"$m"; done
	) | sed '/^$/d' | awk '!seen[$0]++'
}

mapfile -t all < <(lab_objects)
[ ${#all[@]} -gt 500 ] || die "$EXIT_FAIL" "only ${#all[@]} objects found in $LAB/build/vmlinux.a and *.mod: not a full kernel build?"

# Objects of the scratch build that are missing, or whose kbuild command line (first line
# of .<obj>.cmd) is not the lab build's with $KCF added: the diff must run on the lab
# kernel's own units, compiled as the builder compiles them.
bad_objects() {
	local o c
	for o in "${all[@]}"; do
		c="$(dirname "$o")/.$(basename "$o").cmd"
		if [ ! -s "$SCR/build/$o" ] || [ ! -f "$SCR/build/$c" ] ||
			[ "$(head -n 1 "$SCR/build/$c" | sed "s/ $KCF//")" != "$(head -n 1 "$LAB/build/$c")" ]; then
			echo "$o"
		fi
	done
}

compile_objects() {
	local logf="$SCR/build.log" t0
	mkdir -p "$(dirname "$SCR")"
	exec 9>"$SCR.lock"
	flock 9
	if [ -f "$SCR/complete" ] && [ "$(cat "$SCR/complete")" = "${#all[@]}" ]; then
		log "function-sections objects: cached in $SCR/build ($(cat "$SCR/complete") objects)"
		COMPILE_SECONDS=cached
		return 0
	fi
	t0=$(now_ms)
	stage_begin "compile ${#all[@]} objects with $KCF in $SCR/build"
	rm -f "$SCR/complete"
	mkdir -p "$SCR/build"
	cp "$LAB/build/.config" "$SCR/build/.config"
	# Appended to, not truncated: an interrupted earlier run's double compiles count too.
	echo "--- run $(date -u +%FT%TZ)" >>"$logf"
	# The same KCFLAGS on every make here, so kbuild never sees a changed command line.
	make_logged "$logf" olddefconfig -C "$LAB/src" O="$SCR/build" KCFLAGS="$KCF" olddefconfig
	# Only toolchain probes may differ: CONFIG_PAHOLE_* follow the pahole installed now (a
	# lab kernel built before dwarves was installed says 0); they matter only with
	# CONFIG_DEBUG_INFO_BTF, which the lab does not set.
	if ! diff <(grep -v '^CONFIG_PAHOLE_' "$LAB/build/.config") <(grep -v '^CONFIG_PAHOLE_' "$SCR/build/.config") \
		>"$SCR/config.diff"; then
		die "$EXIT_FAIL" "'make olddefconfig' changed the lab's .config in $SCR/build (see $SCR/config.diff): not the lab configuration"
	fi
	# kbuild's single-object targets. Some directories are reached by two descents in one
	# make (arch/x86/lib/ is libs-y, and also under core-y's arch/x86/, whose descent
	# compiles arch/x86/lib/*.o without arch/x86/lib/Makefile's rules): with -j2 both run
	# at once (inat.o fails while inat-tables.c is not generated yet; an object can be
	# written twice at once). So: one parallel pass that keeps going; then every object
	# that it compiled more than once, did not produce, or whose command line is not the
	# lab build's plus $KCF is deleted and compiled again with -j1, where the descents run
	# one after the other and kbuild's if_changed leaves the right command's object.
	# (Counted over the whole log, earlier interrupted runs included.)
	local rc=0 o redo=()
	make -C "$LAB/src" O="$SCR/build" KCFLAGS="$KCF" -j"$(nproc)" -k "${all[@]}" >>"$logf" 2>&1 || rc=$?
	mapfile -t redo < <({
		awk '/^  (CC|AS) / { o = $NF; if (++n[o] == 2) print o }' "$logf"
		bad_objects
	} | sort -u)
	if [ ${#redo[@]} -gt 0 ]; then
		log "parallel pass: make exit $rc; compiling ${#redo[@]} objects again with -j1 (compiled twice at once, missing, or another command line): ${redo[*]:0:6} ..."
		for o in "${redo[@]}"; do rm -f "$SCR/build/$o"; done
		echo "--- -j1 pass" >>"$logf"
		# -k again: the wrong descent's compile of inat.o still fails (its -I lacks the
		# dir of inat-tables.c) before the right one compiles it; what counts is below.
		rc=0
		make -C "$LAB/src" O="$SCR/build" KCFLAGS="$KCF" -j1 -k "${redo[@]}" >>"$logf" 2>&1 || rc=$?
		log "-j1 pass: make exit $rc"
	fi
	# Every object exists and was last compiled by the lab's command plus $KCF.
	mapfile -t redo < <(bad_objects)
	if [ ${#redo[@]} != 0 ]; then
		grep -E 'error|Error' "$logf" | tail -n 15 >&2
		die "$EXIT_FAIL" "${#redo[@]} objects missing or not compiled with the lab's command plus $KCF: ${redo[*]:0:10} (log: $logf)"
	fi
	# Guard against a build that silently lacks the flags the test is about.
	grep -q -- '-ffunction-sections -fdata-sections' "$SCR/build/kernel/.fork.o.cmd" ||
		die "$EXIT_FAIL" "kernel/fork.o in $SCR/build was not compiled with $KCF"
	echo "${#all[@]}" >"$SCR/complete"
	COMPILE_SECONDS=$(elapsed "$t0" "$(now_ms)")
	stage_end
}

if [ $# -gt 0 ]; then
	objs=("$@")
else
	objs=("${all[@]}")
fi
compile_objects
# Nothing below writes into the scratch build: later runs may share it (under the lock).
exec 9>&-

# One object: kpatch-gen diff X.o X.o; records "OBJECT RC" in $WORK/rc/<n> and stderr.
mkdir -p "$WORK/rc" "$WORK/err" "$WORK/out"
cat >"$WORK/one.sh" <<'EOF'
#!/bin/bash
# one.sh INDEX OBJECT
set -uo pipefail
i=$1 o=$2
"$KPG_KPATCH_GEN" diff "$SCR/build/$o" "$SCR/build/$o" -o "$WORK/out/$i.o" --report "$WORK/out/$i.json" -q \
	>"$WORK/err/$i" 2>&1
rc=$?
[ ! -e "$WORK/out/$i.o" ] || echo "error: exit $rc but an output object was written" >>"$WORK/err/$i"
[ -s "$WORK/err/$i" ] || rm -f "$WORK/err/$i"
rm -f "$WORK/out/$i.json"
echo "$o $rc" >"$WORK/rc/$i"
EOF
chmod +x "$WORK/one.sh"
export KPG_KPATCH_GEN SCR WORK
stage_begin "kpatch-gen diff X.o X.o for ${#objs[@]} objects (2 at a time)"
t0=$(now_ms)
for i in "${!objs[@]}"; do printf '%s %s\n' "$i" "${objs[$i]}"; done | xargs -P "$(nproc)" -n 2 "$WORK/one.sh"
DIFF_SECONDS=$(elapsed "$t0" "$(now_ms)")
stage_end

# A failure: any exit but 3, or any error line. Warnings are listed, not failures: e.g.
# init/*.o are built with -fno-function-sections (init/Makefile) and assembler objects
# have no per-function sections, and the engine says so for every object whose functions
# share .text.
failed=()
warned=()
for i in "${!objs[@]}"; do
	[ -f "$WORK/rc/$i" ] || { failed+=("${objs[$i]}: no result (the worker died)"); continue; }
	read -r o rc <"$WORK/rc/$i"
	if [ "$rc" != 3 ] || has -i 'error' "$WORK/err/$i" 2>/dev/null; then
		first=$(grep -m1 -i 'error' "$WORK/err/$i" 2>/dev/null || head -n 1 "$WORK/err/$i" 2>/dev/null || true)
		failed+=("$o: exit $rc${first:+: ${first#"$SCR/build/"}}")
	elif [ -s "$WORK/err/$i" ]; then
		warned+=("$(head -n 1 "$WORK/err/$i" | sed "s|^$SCR/build/||")")
	fi
done
log "objects: ${#objs[@]}; compile: ${COMPILE_SECONDS} s; diff: ${DIFF_SECONDS} s; failures: ${#failed[@]}; with warnings: ${#warned[@]}"
if [ ${#warned[@]} != 0 ]; then printf '    warning only: %s\n' "${warned[@]}" >&2; fi
if [ ${#failed[@]} != 0 ]; then
	printf '    %s\n' "${failed[@]}" >&2
	log "FAIL: ${#failed[@]} of ${#objs[@]} objects do not diff clean against themselves (stderr of each: $WORK/err/)"
	exit "$EXIT_FAIL"
fi
log "PASS: all ${#objs[@]} objects: no functional change, no error"
