#!/bin/bash
# Run one example's kernel-level test: boot the lab kernel with the example's files and a
# livepatch module built from it, and run the example's flow in the guest
# (ci/lab/guest/example.sh: setup, then the LOADED probe sequence, or the example's own
# scenario). Exit codes as for `lab.sh run`.
#
#   ci/lab/run-example.sh examples/cmdline-string /path/to/kpg_cmdline_string.ko
#
# The module normally comes from `kpatch-gen build examples/<name>/<name>.patch`; any
# livepatch module works (the file name, '-' -> '_', is its /sys/kernel/livepatch name).
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR
KPG_PROG=run-example
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$LAB_DIR/common.sh"

usage() {
	cat <<'EOF'
Usage: ci/lab/run-example.sh [--log FILE] [--timeout S] EXAMPLE_DIR MODULE.ko

EXAMPLE_DIR is examples/<name> with expect "success" and a probe file. The example
directory is copied to /kpg/example/ in the guest, MODULE.ko next to it, and
ci/lab/guest/example.sh runs the example. Other options are passed to lab.sh run.
EOF
}

opts=()
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--log | --timeout) [ $# -ge 2 ] || die "$EXIT_USAGE" "$1 needs a value"; opts+=("$1" "$2"); shift ;;
	-h | --help) usage; exit 0 ;;
	-*) die "$EXIT_USAGE" "unknown option '$1' (see --help)" ;;
	*) args+=("$1") ;;
	esac
	shift
done
[ ${#args[@]} = 2 ] || { usage >&2; exit "$EXIT_USAGE"; }
dir=${args[0]%/}
ko=${args[1]}
name=$(basename "$dir")

[ -d "$dir" ] || die "$EXIT_MISSING" "example directory '$dir' not found"
[ "$(cat "$dir/expect" 2>/dev/null)" = success ] ||
	die "$EXIT_USAGE" "example '$name' does not expect success (expect: $(cat "$dir/expect" 2>/dev/null || echo missing)); only success examples have a module to run"
[ -s "$dir/probe" ] || die "$EXIT_MISSING" "example '$name' has no probe file"
[ -f "$ko" ] || die "$EXIT_MISSING" "module '$ko' not found"
case "$ko" in *.ko) ;; *) die "$EXIT_USAGE" "'$ko' is not a .ko file" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
{
	echo "KPG_EXAMPLE_DIR=/kpg/example"
	echo "KPG_KO=/kpg/example/$(basename "$ko")"
	cat "$LAB_DIR/guest/example.sh"
} >"$tmp/scenario"
log "example $name with $(basename "$ko")"
rc=0
"$LAB_DIR/lab.sh" run "$tmp/scenario" ${opts[@]+"${opts[@]}"} \
	--add "$dir:/kpg/example" --add "$ko:/kpg/example/$(basename "$ko")" || rc=$?
exit "$rc"
