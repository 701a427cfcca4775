# Shared helpers for the functional tests (sourced). In the spirit of mold's common.inc:
# every command is echoed (set -x) and the first failing one ends the test with its line.
#
#   $KHEADERS                   kheaders/: the kernel's EXPORT_SYMBOL, pr_debug, BTF_ID macros
#                               as 6.1 expands them (-I"$KHEADERS", then #include "dyndbg.h")
#   kcc SRC OUT [extra flags]   compile C (or .s) with the kernel's x86-64 code flags
#   $K612                       the flags 6.12 adds (IBT: endbr64, `call __fentry__` at +4;
#                               CALL_PADDING: 16 NOPs before each function): kcc ... $K612
#   kcc_pair ORIG.c PATCHED.c [flags]  compile both as "unit.c" (same __FILE__, same FILE
#                               symbol, like two builds of one tree) -> $t/orig.o $t/patched.o
#   kdiff ORIG PATCHED [args]   run `kpatch-gen diff` -> $t/out.o, $t/report.json; sets $rc
#   expect_rc N                 the last kdiff exit code must be N
#   jqr FILTER                  jq over the last report (raw output)
#   changed / included / klp_syms / refusal_codes   common report queries, one per line
#   has_line TEXT               stdin contains TEXT as a whole line
#   not CMD...                  CMD must fail
#   out_sym NAME                the output object defines NAME (any type)
#   sec_size SECTION [FILE]     size in bytes (decimal) of SECTION (default: in $t/out.o); empty if absent
#   sec_bytes SECTION OFF LEN [FILE]  LEN bytes at OFF (decimal) of SECTION as hex ("0b000000")
#   out_relocs SECTION [FILE]   relocations of SECTION (default: in $t/out.o), one per line as
#                               "OFFSET TYPE SYMBOL +|- ADDEND" in hex without leading zeros
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=../has.sh
. "$(dirname "${BASH_SOURCE[0]}")/../has.sh"
name=$(basename "$0" .sh)
KHEADERS=$(cd "$(dirname "$0")" && pwd)/kheaders
: "${KPATCH_GEN:?set KPATCH_GEN to the kpatch-gen binary}"
: "${KP_DUMP:=}"
tmproot=${KPG_TEST_TMP:-/tmp/kpg-functional}
mkdir -p "$tmproot"
t=$(mktemp -d "$tmproot/$name.XXXXXX")
trap 'echo "FAILED: $name at line $LINENO (files kept in $t)" >&2' ERR
trap 'rc_=$?; [ $rc_ -eq 0 ] && rm -rf "$t"; exit $rc_' EXIT
set -x

# The code-generation flags kbuild uses for x86-64 6.1 objects that matter to the diff.
KFLAGS="-O2 -g -nostdinc -ffreestanding -fno-common -fno-strict-aliasing -fno-pic -mcmodel=kernel \
-mno-red-zone -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx -fno-asynchronous-unwind-tables \
-fno-jump-tables -fno-delete-null-pointer-checks -fno-stack-protector -mfentry -pg -mrecord-mcount \
-ffunction-sections -fdata-sections"

# Linux 6.12 x86-64 with CONFIG_X86_KERNEL_IBT and CONFIG_CALL_PADDING (arch/x86/Makefile:
# -fcf-protection=branch, PADDING_CFLAGS with CONFIG_FUNCTION_PADDING_BYTES=16).
K612="-fcf-protection=branch -fpatchable-function-entry=16,16"

kcc() {
	local src=$1 out=$2
	shift 2
	# shellcheck disable=SC2086
	gcc $KFLAGS "$@" -c "$src" -o "$out"
}

kcc_pair() {
	local o=$1 p=$2 side
	shift 2
	for side in orig patched; do
		mkdir -p "$t/src-$side"
		if [ $side = orig ]; then cp "$o" "$t/src-$side/unit.c"; else cp "$p" "$t/src-$side/unit.c"; fi
		(cd "$t/src-$side" && kcc unit.c "$t/$side.o" "$@")
	done
}

kdiff() {
	local o=$1 p=$2
	shift 2
	rc=0
	rm -f "$t/out.o" "$t/report.json" # a refused run must not leave an earlier run's output around
	"$KPATCH_GEN" diff "$o" "$p" -o "$t/out.o" --report "$t/report.json" "$@" || rc=$?
}

expect_rc() {
	if [ "$rc" != "$1" ]; then
		echo "expected exit code $1, got $rc" >&2
		[ -f "$t/report.json" ] && cat "$t/report.json" >&2
		return 1
	fi
}

jqr() { jq -r "$1" "$t/report.json"; }
changed() { jqr '.changed[] | select(.alias != null) | .name'; }
included() { jqr '.included[] | (.symbol // .section)'; }
klp_syms() { jqr '.relocations.klp[] | .symbol'; }
refusal_codes() { jqr '.refusals[].code'; }
has_line() { has -xF -- "$1"; }
not() { if "$@"; then return 1; else return 0; fi; }
out_sym() { readelf -sW "$t/out.o" | awk '{print $8}' | has -xF -- "$1"; }
out_relocs() {
	readelf -rW "${2:-$t/out.o}" | awk -v s="'.rela$1'" '
		/^Relocation section/ { f = ($3 == s); next }
		f && $3 ~ /^R_X86_64_/ { print $1, $3, $5, $6, $7 }' | sed 's/^0*\([0-9a-f]\)/\1/'
}
sec_size() {
	local h
	h=$(readelf -SW "${2:-$t/out.o}" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk -v n="$1" '$1 == n && !d {print $5; d = 1}')
	[ -z "$h" ] || echo $((16#$h))
}
sec_bytes() {
	local f=${4:-$t/out.o} h
	h=$(readelf -SW "$f" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk -v n="$1" '$1 == n && !d {print $4; d = 1}')
	[ -n "$h" ] || return 1
	od -An -tx1 -v -j $((16#$h + $2)) -N "$3" "$f" | tr -d ' \n'
	echo
}
