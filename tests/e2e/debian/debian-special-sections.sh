#!/bin/bash
# e2e: the kernel constructs of issue 10's classes 2, 3 and 5 on Debian's own kernel, where
# the lab kernel cannot show them (no KVM, no BPF/BTF in its tinyconfig):
#  - dynamic debug + __FILE__:__LINE__ strings: one blank line at the top of
#    arch/x86/kvm/x86.c is no functional change (exit 3);
#  - .BTF_ids: one blank line at the top of kernel/bpf/hashtab.c is no change (the
#    htab_map_ops tables hold &htab_map_btf_ids[0], whose word is renamed by the shift);
#  - .BTF_ids: a changed bpf_lsm_verify_prog() (kernel/bpf/bpf_lsm.c) reads the BTF sets
#    bpf_lsm_hooks and bpf_lsm_disabled_hooks through livepatch relocations to the running
#    kernel's set labels (bpf_lsm_hooks is the second of that name in kallsyms: sympos 2)
#    and carries no .BTF_ids of its own;
#  - exports: examples/export-changed (param_get_bool, EXPORT_SYMBOL) builds with the
#    genksyms CRCs checked;
#  - the examples for Debian's kernel (examples/*/kernel: debian), e.g. btf-ids-netlink:
#    built, no .BTF_ids in the module, probe passing while loaded.
# The modules are then loaded into Debian's kernel under QEMU: load, transition, the
# export-changed probe, unload, and a clean kernel log.
# Skips (exit 77) only when the packages cannot be installed or fetched.
#   KPG_DEBIAN_RELEASE   release to test (default: ci/debian-release.sh)
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=debian-special-sections
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

build kvm "$here/patches/kvm-x86-blank-line.patch" 3
build hashtab "$here/patches/bpf-hashtab-blank-line.patch" 3

build lsm "$here/patches/bpf-lsm-verify-message.patch" 0
lsm_ko=$(jq -r '.output.module' "$tmp/lsm.json")
# The module's report (next to it) holds the diff reports.
jq -r '.. | objects | select(has("klp")) | .klp[] | "\(.symbol),\(.sympos) \(.why)"' "${lsm_ko%.ko}.json" | sort -u >"$tmp/lsm.klp"
cat "$tmp/lsm.klp"
grep -q '^bpf_lsm_hooks,2 BTF id list of vmlinux' "$tmp/lsm.klp" || fail "no livepatch relocation to bpf_lsm_hooks,2 (the BTF set)"
grep -q '^bpf_lsm_disabled_hooks,0 BTF id list of vmlinux' "$tmp/lsm.klp" || fail "no livepatch relocation to bpf_lsm_disabled_hooks"
! grep -q '__BTF_ID__' "$tmp/lsm.klp" || fail "a livepatch relocation names a __BTF_ID__ word instead of its list"
! readelf -SW "$lsm_ko" | has '\.BTF_ids' || fail "$lsm_ko carries a .BTF_ids section"

build export "$repo/examples/export-changed/export-changed.patch" 0
export_ko=$(jq -r '.output.module' "$tmp/export.json")
jq -r '.. | objects | select(has("notes")) | .notes[]' "${export_ko%.ko}.json" | has 'param_get_bool is exported and changed with the same ABI' ||
	fail "the export of param_get_bool was not checked against the genksyms CRCs"
! readelf -SW "$export_ko" | has 'ksymtab' || fail "$export_ko carries an export table"
vmlinuz=$(jq -r '.debian.vmlinuz' "$tmp/export.json")

# The examples for Debian's kernel (examples/*/kernel says debian; the lab lacks their
# config): each must build, carry no .BTF_ids, and pass its probe below. btf-ids-netlink
# shifts the lines of net/netlink/af_netlink.c above BTF_ID_LIST(btf_netlink_sock_id), which
# renames its word (__BTF_ID__struct__netlink_sock__<counter><line>).
ex_names=() ex_kos=()
for d in "$repo"/examples/*/; do
	[ "$(cat "$d/kernel" 2>/dev/null)" = debian ] || continue
	n=$(basename "$d")
	[ "$(cat "$d/expect")" = success ] || fail "examples/$n: an example for Debian's kernel must expect success"
	build "ex-$n" "$d/$n.patch" 0
	ko=$(jq -r '.output.module' "$tmp/ex-$n.json")
	! readelf -SW "$ko" | has '\.BTF_ids' || fail "$ko carries a .BTF_ids section"
	ex_names+=("$n") ex_kos+=("$ko")
done
[ ${#ex_names[@]} -gt 0 ] || fail "no example under examples/ is for Debian's kernel (a kernel file saying debian)"

lsm_name=$(basename "$lsm_ko" .ko)
export_name=$(basename "$export_ko" .ko)
ex_adds=()
for ko in "${ex_kos[@]}"; do ex_adds+=(--add "$ko:/kpg/add/$(basename "$ko")"); done
scenario="$tmp/scenario"
{
	echo '. /kpg/lib.sh'
	printf 'kpg_check "%s: load and complete transition" kpg_load_livepatch /kpg/add/%s.ko\n' "$lsm_name" "$lsm_name"
	printf 'kpg_check "%s: disable and rmmod" kpg_unload_livepatch %s\n' "$lsm_name" "$lsm_name"
	printf 'kpg_loaded_probe /kpg/add/%s.ko %q\n' "$export_name" "$(cat "$repo/examples/export-changed/probe")"
	for i in "${!ex_names[@]}"; do
		printf 'kpg_loaded_probe /kpg/add/%s %q\n' "$(basename "${ex_kos[$i]}")" "$(cat "$repo/examples/${ex_names[$i]}/probe")"
	done
	echo 'kpg_check "running kernel is Debian'"'"'s" sh -c "uname -r | grep -qx '"$release"'"'
	echo 'kpg_summary'
} >"$scenario"
"$lab" initramfs -o "$tmp/initrd.cpio" --scenario "$scenario" \
	--add "$lsm_ko:/kpg/add/$lsm_name.ko" --add "$export_ko:/kpg/add/$export_name.ko" "${ex_adds[@]}"
log="${KPG_TEST_LOG_DIR:-$tmp}/debian-special-sections-$release.console.log"
rc=0
KPG_LAB_UNVERIFIED_KERNEL=1 "$lab" boot --kernel "$vmlinuz" --initrd "$tmp/initrd.cpio" --timeout 300 --log "$log" || rc=$?
if [ "$rc" != 0 ] || ! "$lab" judge "$log"; then
	cp "$log" "/tmp/debian-special-sections-$release.console.log" 2>/dev/null || true
	fail "the boot of $vmlinuz failed or its log is not clean (exit $rc); console kept in /tmp/debian-special-sections-$release.console.log"
fi
echo "debian-special-sections: PASS: x86.c and hashtab.c line shifts are no change; the BTF-set and export modules and the examples ${ex_names[*]} load into Debian's $release"
