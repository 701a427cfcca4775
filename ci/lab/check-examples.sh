#!/bin/bash
# Check the example corpus (examples/<name>/) against the lab kernel's source, without the
# builder: every patch must apply exactly to the packaged 6.1 source; with --compile, every
# file it touches must compile warning-free in the lab configuration (the builder tests check
# that on every run: their builds fail on a compile warning). With --boot, also prove
# that each success example's probe means what it says: a kernel built with all those
# patches applied (as ordinary source changes) must pass every probe, and the pristine
# lab kernel must fail every probe. Run `check-examples.sh --help` for details.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR
readonly REPO="$LAB_DIR/../.."
readonly EXAMPLES="${KPG_EXAMPLES_DIR:-$REPO/examples}"
KPG_PROG=check-examples
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$LAB_DIR/common.sh"

usage() {
	cat <<'EOF'
Usage: ci/lab/check-examples.sh [--compile] [--boot] [NAME...]

For each example under examples/ (or only the NAMEs):
  1. layout: NAME.patch, expect ("success", "no-change", "refuse CODE", "not-built" or
     "compile-error"), a one-line probe for success examples, a "### NAME" section in
     examples/README.md;
  2. `patch -p1 --dry-run --fuzz=0` against the pristine source of the lab kernel;
  3. with --compile (CTest leaves it to the builder tests, tests/e2e/builder/example.sh and
     check-builder.sh, whose builds compile every example anyway and fail on a warning):
     apply it in a scratch tree and `make O=<scratch build> <obj>` for every touched .c
     file (plus the objects listed in the example's `compile` file, for header changes),
     with templates/include on the include path; any compiler or objtool warning fails.
     A "compile-error" example must fail to compile with a compiler error instead; a
     "not-built" example's objects must be absent from the lab build (its config leaves
     them out), and nothing is compiled.
     The scratch tree is <cache>/lab/scratch-<kernel>/compile: a hard-linked copy of the
     pristine src/ (files are unlinked before they are patched) and a `make prepare`d
     build dir. The cached boot build dir is never written.

--boot additionally (about 6 min the first time, a minute later on):
  4. builds <cache>/lab/scratch-<kernel>/probes: the lab kernel with every success
     example applied as a plain source change (except those with a `livepatch-only`
     file, e.g. callbacks), boots it and requires every probe to PASS after the
     example's setup; then boots the pristine lab kernel and requires every probe to FAIL.

Needs the lab kernel: ci/lab/lab.sh kernel.
Exit codes: 0 all checks passed, 1 an example failed, 2 usage, 3 missing prerequisite,
4 scratch kernel build failed, 5 boot failed.
EOF
}

boot=0
compile=0
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--boot) boot=1 ;;
	--compile) compile=1 ;;
	-h | --help) usage; exit 0 ;;
	-*) die $EXIT_USAGE "unknown option '$1' (see --help)" ;;
	*) names+=("$1") ;;
	esac
	shift
done

need_tool patch make gcc cmp
kdir=$("$LAB_DIR/lab.sh" kernel --print-dir) ||
	die $EXIT_MISSING "the lab kernel is not built; run ci/lab/lab.sh kernel"
readonly PRISTINE="$kdir/src"
SCRATCH_ROOT="$(dirname "$kdir")/scratch-$(basename "$kdir")"
readonly SCRATCH_ROOT
KCFLAGS_LAB="-I$(realpath "$REPO")/templates/include"
readonly KCFLAGS_LAB
if [ ${#names[@]} = 0 ]; then
	mapfile -t names < <(kpg_lab_examples "$EXAMPLES")
fi
[ ${#names[@]} -gt 0 ] || die $EXIT_MISSING "no examples under $EXAMPLES"

TMPD=$(mktemp -d "${TMPDIR:-/tmp}/kpg-check-examples.XXXXXX")
readonly TMPD
trap 'rm -rf "$TMPD"' EXIT
failed=()
skipped=()
fail() { # fail NAME MESSAGE
	log "FAIL $1: $2"
	failed+=("$1")
}

# Files a patch touches, from its "+++ b/path" lines.
patch_files() { sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"; }

# --- 1. layout ------------------------------------------------------------------------
check_layout() { # check_layout NAME -> 0 if usable
	local name=$1 dir="$EXAMPLES/$1" expect
	[ -d "$dir" ] || { fail "$name" "no directory $dir"; return 1; }
	[ -s "$dir/$name.patch" ] || { fail "$name" "missing $dir/$name.patch"; return 1; }
	[ -s "$dir/expect" ] || { fail "$name" "missing $dir/expect"; return 1; }
	expect=$(cat "$dir/expect")
	case "$expect" in
	success)
		if [ ! -s "$dir/probe" ] || [ "$(wc -l <"$dir/probe")" != 1 ]; then
			fail "$name" "a success example needs a one-line probe file ($dir/probe)"
			return 1
		fi
		;;
	no-change | not-built | compile-error) ;;
	"refuse "[A-Z]*) case "${expect#refuse }" in *[!A-Z_]*) fail "$name" "bad reason code in expect: '$expect'"; return 1 ;; esac ;;
	*) fail "$name" "expect must be 'success', 'no-change', 'refuse CODE', 'not-built' or 'compile-error', got '$expect'"; return 1 ;;
	esac
	grep -q "^### $name\$" "$EXAMPLES/README.md" 2>/dev/null ||
		{ fail "$name" "no '### $name' section in $EXAMPLES/README.md"; return 1; }
}

# --- 2 + 3. dry run and compile in the scratch tree -------------------------------------
readonly SC="$SCRATCH_ROOT/compile"

# Put back the pristine content of every file a previous (possibly interrupted) run
# patched, as a new inode: the scratch src is hard-linked to the cache's pristine src, so
# patching must never write through a link. Listed in $SC/dirty before anything is written.
restore_dirty() { # restore_dirty SCRATCH_DIR
	local sc=$1 f
	[ -f "$sc/dirty" ] || return 0
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		if [ -e "$PRISTINE/$f" ]; then
			cp --remove-destination "$PRISTINE/$f" "$sc/src/$f"
		else
			rm -f "$sc/src/$f"
		fi
	done <"$sc/dirty"
	rm -f "$sc/dirty"
}

prepare_compile_scratch() {
	local logf="$SC/prepare.log"
	exec 8>"$SCRATCH_ROOT.lock"
	flock 8
	if [ -f "$SC/prepared" ]; then
		restore_dirty "$SC"
		return 0
	fi
	stage_begin "scratch tree for compile checks ($SC)"
	rm -rf "$SC"
	mkdir -p "$SC/build"
	cp -al "$PRISTINE" "$SC/src"
	cp "$kdir/build/.config" "$SC/build/.config"
	: >"$logf"
	# The same KCFLAGS on every make in this dir, so `prepare` is not redone when an
	# example is compiled (Kbuild rebuilds anything whose command line changed).
	make_logged "$logf" olddefconfig -C "$SC/src" O="$SC/build" KCFLAGS="$KCFLAGS_LAB" olddefconfig
	make_logged "$logf" prepare -C "$SC/src" O="$SC/build" KCFLAGS="$KCFLAGS_LAB" -j"$(nproc)" prepare modules_prepare
	touch "$SC/prepared"
	stage_end
}

# The objects to compile for an example: each touched .c file, plus its `compile` list
# (a header change names the objects that include it, e.g. struct-layout-changed lists
# kernel/printk/printk.o, which has the static printk_rb_static instance).
example_objects() { # example_objects NAME
	local dir="$EXAMPLES/$1" f
	while IFS= read -r f; do
		case "$f" in *.c) echo "${f%.c}.o" ;; esac
	done < <(patch_files "$dir/$1.patch")
	if [ -f "$dir/compile" ]; then tr -s '[:space:]' '\n' <"$dir/compile" | sed '/^$/d'; fi
}

# Every hunk's old side (context and removed lines) must occur exactly once in the file it
# patches. patch(1) applies a hunk at the nearest match of its context, so a context that
# also matches elsewhere is applied to the wrong function as soon as a point release moves
# the lines: e.g. kernel/sys.c has "down_read(&uts_sem); memcpy(&tmp, utsname(), ...);
# up_read(&uts_sem); if (copy_to_user(...)) return -EFAULT;" in both newuname and uname,
# so examples/syscall-uname carries 5 lines of context to include "struct new_utsname tmp;".
# Prints one line per ambiguous hunk; nothing if all are unique.
ambiguous_hunks() { # ambiguous_hunks PATCH SRCROOT
	awk -v root="$2" '
	function load(f,    line, k) {
		if (f in loaded) return
		loaded[f] = 1; k = 0
		while ((getline line < (root "/" f)) > 0) text[f, ++k] = line
		close(root "/" f); nlines[f] = k
	}
	function check(    i, j, hits) {
		if (n == 0) return
		load(file); hits = 0
		for (i = 1; i + n - 1 <= nlines[file]; i++) {
			for (j = 1; j <= n && text[file, i + j - 1] == old[j]; j++) ;
			if (j > n) hits++
		}
		if (hits != 1) printf "%s hunk %d: its context matches %d places\n", file, hunk, hits
		n = 0
	}
	/^\+\+\+ / { check(); file = substr($2, 3); hunk = 0; next }
	/^--- / { next }
	/^@@ / { check(); hunk++; next }
	/^[ -]/ { old[++n] = substr($0, 2); next }
	END { check() }' "$1"
}

# Examples written against the author header need what they use from it (common.sh).
readonly HEADER="$REPO/templates/include/kpatch-gen.h"
header_gaps() { kpg_header_gaps "$HEADER" "$1"; }

check_compile() { # check_compile NAME
	local name=$1 dir="$EXAMPLES/$1" p files f objs o logf rc=0
	p="$dir/$name.patch"
	local amb
	amb=$(ambiguous_hunks "$p" "$PRISTINE")
	if [ -n "$amb" ]; then
		fail "$name" "hunk context not unique (add context lines): $amb"
		return 1
	fi
	if ! patch -p1 --dry-run --fuzz=0 -s -d "$PRISTINE" <"$p" >"$TMPD/dry-run.out" 2>&1; then
		fail "$name" "patch -p1 --dry-run --fuzz=0 does not apply to $(basename "$kdir") source: $(head -n 3 "$TMPD/dry-run.out" | tr '\n' ' ')"
		return 1
	fi
	local gaps
	gaps=$(header_gaps "$p")
	if [ -n "$gaps" ]; then
		log "SKIP $name: $gaps (dry run passed)"
		skipped+=("$name")
		return 0
	fi
	local expect
	expect=$(cat "$dir/expect")
	if [ "$expect" = not-built ]; then
		# The lab's build dir has an object for every unit its config compiles: a file
		# the config leaves out (drivers/tty/n_gsm.c without CONFIG_N_GSM) has none.
		mapfile -t objs < <(example_objects "$name")
		for o in "${objs[@]}"; do
			if [ -e "$kdir/build/$o" ]; then
				fail "$name" "expect is not-built, but the lab builds $o"
				return 1
			fi
		done
		log "ok   $name: applies; not built in the lab config (${objs[*]})"
		return 0
	fi
	if [ "$compile" = 0 ]; then
		log "ok   $name: applies exactly, hunk contexts unique"
		return 0
	fi
	mapfile -t files < <(patch_files "$p")
	printf '%s\n' "${files[@]}" >"$SC/dirty"
	for f in "${files[@]}"; do
		if [ -e "$SC/src/$f" ]; then cp --remove-destination "$PRISTINE/$f" "$SC/src/$f"; fi
	done
	if ! patch -p1 --fuzz=0 --no-backup-if-mismatch -s -d "$SC/src" <"$p" >"$SC/apply.out" 2>&1; then
		fail "$name" "patch failed in the scratch tree: $(head -n 3 "$SC/apply.out" | tr '\n' ' ')"
		restore_dirty "$SC"
		return 1
	fi
	mapfile -t objs < <(example_objects "$name")
	if [ ${#objs[@]} = 0 ]; then
		fail "$name" "nothing to compile (no .c file touched and no 'compile' file)"
		restore_dirty "$SC"
		return 1
	fi
	for o in "${objs[@]}"; do rm -f "$SC/build/$o"; done
	logf="$SC/$name.log"
	make -C "$SC/src" O="$SC/build" KCFLAGS="$KCFLAGS_LAB" -j"$(nproc)" "${objs[@]}" >"$logf" 2>&1 || rc=$?
	restore_dirty "$SC"
	if [ "$expect" = compile-error ]; then
		# The example is a patch that needs a change elsewhere (a helper the same series
		# adds to a header): the compiler itself must reject it.
		if [ "$rc" = 0 ] || ! grep -q ': error: ' "$logf"; then
			fail "$name" "expect is compile-error, but ${objs[*]} compiled (exit $rc); log: $logf"
			return 1
		fi
		log "ok   $name: applies, does not compile: $(grep -m1 ': error: ' "$logf" | sed "s|^$SC/src/||")"
		return 0
	fi
	if [ "$rc" != 0 ]; then
		grep -E 'error|Error' "$logf" | head -n 10 >&2 || true
		fail "$name" "compiling ${objs[*]} failed (exit $rc); log: $logf"
		return 1
	fi
	# The kernel builds without -Werror; a patch meant to be live-applied must still be
	# warning-free (gcc "warning:", objtool "warning: objtool: ... falls through").
	if grep -q 'warning:' "$logf"; then
		grep 'warning:' "$logf" | head -n 10 >&2
		fail "$name" "compiler/objtool warnings; log: $logf"
		return 1
	fi
	for o in "${objs[@]}"; do
		[ -s "$SC/build/$o" ] || { fail "$name" "make succeeded but $o was not produced"; return 1; }
	done
	log "ok   $name: applies, compiles (${objs[*]})"
}

# --- 4. probes on a patched kernel and on the pristine kernel ---------------------------
readonly SP="$SCRATCH_ROOT/probes"

check_probes() {
	local ex=() name f all_files=() logf staging t0 release gaps
	for name in "${names[@]}"; do
		[ "$(cat "$EXAMPLES/$name/expect" 2>/dev/null)" = success ] || continue
		if [ -f "$EXAMPLES/$name/livepatch-only" ]; then
			log "skip $name in the patched-kernel check: $(cat "$EXAMPLES/$name/livepatch-only")"
			continue
		fi
		gaps=$(header_gaps "$EXAMPLES/$name/$name.patch")
		if [ -n "$gaps" ]; then
			log "skip $name in the patched-kernel check: $gaps"
			continue
		fi
		ex+=("$name")
	done
	[ ${#ex[@]} -gt 0 ] || { log "no success examples for the probe check"; return 0; }
	exec 7>"$SCRATCH_ROOT.probes.lock"
	flock 7
	if [ ! -d "$SP/src" ]; then
		mkdir -p "$SP/build"
		cp -al "$PRISTINE" "$SP/src"
		cp "$kdir/build/.config" "$SP/build/.config"
	fi
	restore_dirty "$SP"
	# Apply all patches in a staging copy of the touched files, then copy into the scratch
	# tree only the files whose content differs: unchanged files keep their mtime, so a
	# second --boot run relinks nothing.
	staging=$(mktemp -d "${TMPDIR:-/tmp}/kpg-probes.XXXXXX")
	for name in "${ex[@]}"; do
		while IFS= read -r f; do all_files+=("$f"); done < <(patch_files "$EXAMPLES/$name/$name.patch")
	done
	mapfile -t all_files < <(printf '%s\n' "${all_files[@]}" | sort -u)
	for f in "${all_files[@]}"; do
		mkdir -p "$staging/$(dirname "$f")"
		cp "$PRISTINE/$f" "$staging/$f"
	done
	for name in "${ex[@]}"; do
		patch -p1 --fuzz=0 --no-backup-if-mismatch -s -d "$staging" <"$EXAMPLES/$name/$name.patch" ||
			{ rm -rf "$staging"; fail "$name" "does not apply together with the other examples"; return 1; }
	done
	printf '%s\n' "${all_files[@]}" >"$SP/dirty.new"
	for f in "${all_files[@]}"; do
		cmp -s "$staging/$f" "$SP/src/$f" || cp --remove-destination "$staging/$f" "$SP/src/$f"
	done
	rm -rf "$staging"
	# dirty now lists what differs from pristine (used by restore_dirty on the next run).
	mv "$SP/dirty.new" "$SP/dirty"

	logf="$SP/build.log"
	: >"$logf"
	rm -f "$SP/complete"
	t0=$(now_ms)
	stage_begin "patched kernel with ${#ex[@]} examples ($SP)"
	make_logged "$logf" "olddefconfig" -C "$SP/src" O="$SP/build" KCFLAGS="$KCFLAGS_LAB" olddefconfig
	make_logged "$logf" "bzImage modules" -C "$SP/src" O="$SP/build" KCFLAGS="$KCFLAGS_LAB" -j"$(nproc)" bzImage modules
	rm -rf "$SP/modules"
	make_logged "$logf" modules_install -C "$SP/src" O="$SP/build" KCFLAGS="$KCFLAGS_LAB" INSTALL_MOD_PATH="$SP/modules" modules_install
	release=$(make -s -C "$SP/src" O="$SP/build" kernelrelease)
	printf 'release=%s\nbuild_seconds=%s\n' "$release" "$(elapsed "$t0" "$(now_ms)")" >"$SP/complete.tmp"
	mv "$SP/complete.tmp" "$SP/complete"
	stage_end

	# The guest gets each example's probe and setup, and a scenario that runs them all.
	local guest add=()
	guest=$(mktemp -d "${TMPDIR:-/tmp}/kpg-probes-guest.XXXXXX")
	for name in "${ex[@]}"; do
		mkdir -p "$guest/$name"
		cp "$EXAMPLES/$name/probe" "$guest/$name/"
		if [ -f "$EXAMPLES/$name/setup" ]; then cp "$EXAMPLES/$name/setup" "$guest/$name/"; fi
	done
	add=(--add "$guest:/kpg/examples")
	local mode rc=0
	for mode in pass fail; do
		{ echo "KPG_PROBES_EXPECT=$mode"; cat "$LAB_DIR/guest/example-probes.sh"; } >"$guest/scenario-$mode"
	done
	stage_begin "boot the patched kernel: every probe must pass"
	"$LAB_DIR/lab.sh" run "$guest/scenario-pass" --kernel-dir "$SP" --timeout 300 "${add[@]}" || rc=$?
	stage_end
	[ "$rc" = 0 ] || fail "probes" "some probe did not pass on the kernel with the examples applied (lab.sh exit $rc)"
	rc=0
	stage_begin "boot the pristine lab kernel: every probe must fail"
	"$LAB_DIR/lab.sh" run "$guest/scenario-fail" --timeout 300 "${add[@]}" || rc=$?
	stage_end
	[ "$rc" = 0 ] || fail "probes" "some probe did not fail on the pristine kernel (lab.sh exit $rc)"
	rm -rf "$guest"
}

t_all=$(now_ms)
usable=()
for name in "${names[@]}"; do
	if check_layout "$name"; then usable+=("$name"); fi
done
if [ ${#usable[@]} -gt 0 ]; then
	if [ "$compile" = 1 ]; then prepare_compile_scratch; fi
	stage_begin "dry run$([ "$compile" = 0 ] || echo " + compile") ${#usable[@]} examples"
	for name in "${usable[@]}"; do
		check_compile "$name" || true
	done
	stage_end
fi
if [ "$boot" = 1 ]; then
	names=("${usable[@]}")
	check_probes
fi

log "${#names[@]} examples, $((${#names[@]} - ${#failed[@]} - ${#skipped[@]})) ok, ${#skipped[@]} skipped, ${#failed[@]} failed in $(elapsed "$t_all" "$(now_ms)") s"
[ ${#skipped[@]} = 0 ] || log "skipped: ${skipped[*]}"
if [ ${#failed[@]} != 0 ]; then
	log "failed: ${failed[*]}"
	exit $EXIT_FAIL
fi
exit $EXIT_OK
