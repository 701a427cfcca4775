#!/bin/bash
# A real full disk (a 4 KiB tmpfs; needs root to mount, skipped otherwise): `kpatch-agent
# fetch` of a module that does not fit exits 1 with "No space left on device" and leaves no
# partial file. (The agent's apply path on a full state directory is unit-tested through the
# loader's file seam: tests/unit/agent, Faults.AFullDiskInstallsAndLoadsNothing.)
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! mkdir -p "$t/small" || ! mount -t tmpfs -o size=4k tmpfs "$t/small" 2>/dev/null; then
	echo "$name: skipped: mounting a tmpfs needs root"
	exit 77
fi
cleanup_mount() { umount "$t/small" 2>/dev/null || true; }
trap 'rc_=$?; cleanup_mount; stop_nginx; if [ $rc_ -eq 0 ]; then rm -rf "$t"; else echo "FAILED: $name (files kept in $t)" >&2; fi; exit $rc_' EXIT
new_repo
publish lp_one
head -c 4096 /dev/zero >"$t/small/filler" 2>/dev/null || true # the file system is now full
agent -q fetch 1 -o "$t/small/lp_one.ko"
[ "$rc" = 1 ] || die "fetch onto a full disk exited $rc: $(cat "$t/agent.out")"
grep -q 'No space left on device' "$t/agent.out" || die "$(cat "$t/agent.out")"
[ -z "$(find "$t/small" -name 'lp_one.ko*')" ] || die "left behind: $(ls -la "$t/small")"
log "PASS: full disk: exit 1, nothing half-written"
