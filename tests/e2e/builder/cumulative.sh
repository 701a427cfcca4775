#!/bin/bash
# e2e: cumulative live patches and atomic replace.
#
#   v1  livepatch_all: `kpatch-gen build` of every success example's patch at once, in the
#       order of `ls examples/` (module-binfmt-misc-late and module-binfmt-misc both
#       change fs/binfmt_misc.c, in different functions: they apply one after the other)
#   v2  livepatch_all_v2: the same minus cmdline-string (vmlinux) and module-binfmt-misc
#       (a function of the binfmt_misc object, whose other patched function stays in v2),
#       and with version-string's line changed to kpg_example=version-string-v2
#
# In one boot (cumulative.scenario): every example's setup (binfmt_misc loaded and mounted,
# its `kpg` entry registered, drop_caches' stfu set); every probe fails; v1 loads and every
# probe passes; v2 is loaded while v1 is active and, being a replace-mode patch, takes over
# in one transition: v1's /sys/kernel/livepatch dir disappears (its module stays loaded,
# inactive), the two dropped examples' probes fail again (back to unpatched behaviour), the
# old version-string probe fails and the v2 one passes, the others still pass; v1's module
# is removed and the probes still follow v2; v2 is disabled and removed and every probe
# fails. The lab's verdict also requires a kernel log without oops or warning.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=builder.cumulative
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_kpatch_gen
find_lab_kernel
# The lab kernel's line (KPG_LAB_LINE, as lab.sh): an example's NAME.LINE.patch replaces
# NAME.patch there (kpg_example_file); builder.cumulative-6.12 runs this on the 6.12 lab.
readonly LINE=${KPG_LAB_LINE:-6.1}
make_work_dir "builder-cumulative-$LINE"

readonly DROPPED="cmdline-string module-binfmt-misc"
readonly CHANGED=version-string
readonly V1=livepatch_all V2=livepatch_all_v2

mapfile -t names < <(success_examples)
[ ${#names[@]} -ge 2 ] || die "$EXIT_FAIL" "fewer than two success examples under $EXAMPLES"
for n in $DROPPED $CHANGED; do
	[ -f "$EXAMPLES/$n/$n.patch" ] || die "$EXIT_FAIL" "example $n (dropped or changed in v2) does not exist"
done

# v2's version-string: the same patch with another string; its probe likewise.
mkdir -p "$WORK/v2"
sed 's/kpg_example=version-string\\n/kpg_example=version-string-v2\\n/' \
	"$(kpg_example_file "$EXAMPLES/$CHANGED" "$CHANGED.patch" "$LINE")" >"$WORK/v2/$CHANGED-v2.patch"
grep -q 'kpg_example=version-string-v2' "$WORK/v2/$CHANGED-v2.patch" ||
	die "$EXIT_FAIL" "could not make the v2 variant of $CHANGED.patch (its string changed?)"
sed 's/kpg_example=version-string\$/kpg_example=version-string-v2$/' "$EXAMPLES/$CHANGED/probe" >"$WORK/v2/probe"
grep -q 'version-string-v2' "$WORK/v2/probe" || die "$EXIT_FAIL" "could not make the v2 variant of $CHANGED's probe"

v1_patches=()
v2_patches=()
for n in "${names[@]}"; do
	v1_patches+=("$(kpg_example_file "$EXAMPLES/$n" "$n.patch" "$LINE")")
	case " $DROPPED " in *" $n "*) continue ;; esac
	if [ "$n" = "$CHANGED" ]; then
		v2_patches+=("$WORK/v2/$CHANGED-v2.patch")
	else
		v2_patches+=("$(kpg_example_file "$EXAMPLES/$n" "$n.patch" "$LINE")")
	fi
done

build_version() { # build_version NAME PATCH...
	local name=$1 rc=0 t0
	shift
	t0=$(now_ms)
	kg_build "$WORK/$name" build "$LAB" --name "$name" "$@" || rc=$?
	if [ "$rc" != 0 ] || [ "$(json_get "$WORK/$name/build.json" .result)" != built ] || [ ! -f "$WORK/$name/$name.ko" ]; then
		show_log "$WORK/$name/build.log"
		die "$EXIT_FAIL" "building $name from $# patches failed (exit $rc); log: $WORK/$name/build.log"
	fi
	[ "$(json_get "$WORK/$name/build.json" .replace)" = true ] || die "$EXIT_FAIL" "$name is not a replace-mode patch"
	log "built $name.ko from $# patches in $(elapsed "$t0" "$(now_ms)") s: $(jq -r '[.objects[] | "\(.name): \([.functions[].name] | join(","))"] | join("; ")' "$WORK/$name/build.json")"
}
build_version "$V1" "${v1_patches[@]}"
build_version "$V2" "${v2_patches[@]}"

# The guest gets every example's probe and setup, v2's probe, both modules, and the
# expected probe outcome under v2 for each name.
g="$WORK/guest"
mkdir -p "$g/examples"
for n in "${names[@]}"; do
	mkdir -p "$g/examples/$n"
	cp "$EXAMPLES/$n/probe" "$g/examples/$n/"
	if [ -f "$EXAMPLES/$n/setup" ]; then cp "$EXAMPLES/$n/setup" "$g/examples/$n/"; fi
done
mkdir -p "$g/examples/$CHANGED-v2"
cp "$WORK/v2/probe" "$g/examples/$CHANGED-v2/probe"
{
	for n in "${names[@]}"; do
		case " $DROPPED $CHANGED " in
		*" $n "*) echo "$n fail" ;;
		*) echo "$n pass" ;;
		esac
	done
	echo "$CHANGED-v2 pass"
} >"$g/expect-v2"
{
	for n in "${names[@]}"; do echo "$n pass"; done
	echo "$CHANGED-v2 fail"
} >"$g/expect-v1"
{
	for n in "${names[@]}"; do echo "$n fail"; done
	echo "$CHANGED-v2 fail"
} >"$g/expect-none"
cp "$WORK/$V1/$V1.ko" "$WORK/$V2/$V2.ko" "$g/"

"$LAB_DIR/lab.sh" run "$BUILDER_TESTS/cumulative.scenario" --timeout 600 --log "$WORK/console.log" \
	--add "$g:/kpg/cum"
log "PASS: $V1 (${#v1_patches[@]} patches) loaded with every probe passing; $V2 (${#v2_patches[@]}) replaced it atomically and the probes followed"
