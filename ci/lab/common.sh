# shellcheck shell=bash
# Host-side helpers shared by the lab scripts (lab.sh, check-examples.sh, run-example.sh,
# ../demo.sh, ../test.sh): messages, fixed exit codes, stage timings, make with progress.
# Set KPG_PROG before sourcing to name the script in messages.
# SPDX-License-Identifier: GPL-2.0-only

# Exit codes, fixed so that CI and CTest can tell "the patch misbehaved" from "the lab is
# broken". Keep in sync with usage() and ci/lab/README.md.
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly EXIT_OK=0
readonly EXIT_FAIL=1        # a check failed (guest FAIL line, oops/WARNING on the console), or --print-dir: no kernel yet
readonly EXIT_USAGE=2       # bad command line
readonly EXIT_MISSING=3     # a prerequisite is missing (tool, source tarball, input file)
readonly EXIT_BUILD=4       # kernel configuration or build failed
readonly EXIT_BOOT=5        # QEMU failed, the boot timed out, or the guest never printed KPG-DONE
readonly EXIT_INITRAMFS=6   # the initramfs could not be built

log() { printf '%s: %s\n' "${KPG_PROG:-lab}" "$*" >&2; }
die() { # die EXIT_CODE MESSAGE...
	local code=$1
	shift
	printf '%s: error: %s\n' "${KPG_PROG:-lab}" "$*" >&2
	exit "$code"
}

now_ms() { date +%s%3N; }
# Seconds with one decimal between two now_ms values: "3.4".
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# Stage timing: every long step prints its name when it starts and its duration when it
# ends, so a CI log shows where the time went ("lab: [stage] make bzImage modules: 231.4 s").
STAGE_NAME=""
STAGE_T0=0
stage_begin() {
	STAGE_NAME=$1
	STAGE_T0=$(now_ms)
	log "[stage] $STAGE_NAME ..."
}
stage_end() {
	log "[stage] $STAGE_NAME: $(elapsed "$STAGE_T0" "$(now_ms)") s"
}

need_tool() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			die $EXIT_MISSING "required tool '$t' not found (run ci/install-deps.sh)"
	done
}

# How many vCPUs a guest gets: 2, or 1 for a kernel that re-patches its preempt-dynamic static
# calls around every livepatch transition. Kernels since 6.4 (System.map has
# sched_dynamic_klp_enable: "livepatch,sched: Add livepatch task switching to cond_resched()")
# switch cond_resched() to klp_cond_resched() when a transition starts and back, with
# __sched_dynamic_update(), when it ends: text_poke_bp() on every cond_resched, might_resched,
# preempt_schedule and irqentry_exit_cond_resched call site. QEMU 7.2's multi-threaded TCG
# (one host thread per vCPU) sometimes lets the other vCPU run a translation of such a site
# made while its int3 was there, after the poke finished: "Oops: int3" at
# irqentry_exit+0x1c or unmap_page_range, in 3 of 3 boots of the 6.12 lab kernel that
# loaded the kernel's own samples/livepatch module with two busy loops running, within 2
# load/unload cycles. With one vCPU: 2 x 60 cycles, no oops; the 6.1 kernel (no
# sched_dynamic_klp_enable) with 2 vCPUs: 2 x 60 cycles, no oops. One vCPU on one host
# thread costs these guests nothing measurable (their scenarios run one task at a time),
# whereas thread=single TCG made every IPI wait for the 100 ms round-robin kick (a cycle took
# 70 s). KPG_LAB_SMP=N overrides.
guest_cpus() { # guest_cpus SYSTEM_MAP CONFIG (either may be missing)
	local map=$1 config=$2 ver
	if [ -n "${KPG_LAB_SMP:-}" ]; then
		echo "$KPG_LAB_SMP"
		return
	fi
	# A real System.map says it directly. Debian's /boot/System.map-RELEASE is a one-line stub
	# ("The real System.map is in the linux-image-<version>-dbg package").
	if [ -r "$map" ] && grep -q ' [Tt] start_kernel$' "$map"; then
		if grep -q ' sched_dynamic_klp_enable$' "$map"; then echo 1; else echo 2; fi
		return
	fi
	# Else the configuration: sched_dynamic_klp_enable() is built with CONFIG_LIVEPATCH and
	# CONFIG_PREEMPT_DYNAMIC on a HAVE_PREEMPT_DYNAMIC_CALL architecture, since 6.4 (the
	# version from the config's header, "# Linux/x86 6.12.107 Kernel Configuration").
	if [ -r "$config" ] && grep -qx 'CONFIG_LIVEPATCH=y' "$config" && grep -qx 'CONFIG_PREEMPT_DYNAMIC=y' "$config" &&
		grep -qx 'CONFIG_HAVE_PREEMPT_DYNAMIC_CALL=y' "$config"; then
		ver=$(sed -n 's/^# Linux\/[^ ]* \([0-9]*\.[0-9]*\).* Kernel Configuration$/\1/p' "$config" | head -n 1)
		if [ -n "$ver" ] && [ "$(printf '%s\n6.4\n' "$ver" | sort -V | head -n 1)" = 6.4 ]; then
			echo 1
			return
		fi
	fi
	echo 2
}

# Run make with output to the build log and a progress line every ~30 s, so CI shows the
# build is alive without dumping 5,000 lines of "CC ..." into its log. On failure, show
# the last 40 lines (the compiler error is usually in them) and the log path.
make_logged() { # make_logged LOGFILE WHAT make-args...
	local logf=$1 what=$2 pid t0 last rc=0
	shift 2
	t0=$(now_ms)
	make "$@" >>"$logf" 2>&1 &
	pid=$!
	last=$t0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if [ $(($(now_ms) - last)) -ge 30000 ]; then
			last=$(now_ms)
			log "  $what: $(elapsed "$t0" "$last") s, last: $(tail -n 1 "$logf" | cut -c1-100)"
		fi
	done
	wait "$pid" || rc=$?
	if [ "$rc" != 0 ]; then
		tail -n 40 "$logf" >&2
		die $EXIT_BUILD "'make $*' failed (exit $rc); full log: $logf"
	fi
}


# Examples written against the author header (#include "kpatch-gen.h") can only compile
# once the header provides what they use. Prints what is missing, e.g.
# "templates/include/kpatch-gen.h does not define: KPG_SYSCALL_DEFINE1", or nothing.
# Callers treat a missing feature as a skip with that reason; a header that has the
# feature but does not compile is a failure.
kpg_header_gaps() { # kpg_header_gaps HEADER PATCH
	local header=$1 patch=$2 m missing=""
	grep -q '^+#include "kpatch-gen.h"' "$patch" || return 0
	if [ ! -f "$header" ]; then
		echo "needs templates/include/kpatch-gen.h, which does not exist yet"
		return 0
	fi
	# KPG_* names the patch's added lines use, minus those it #defines itself
	# (examples/shadow-newpid defines KPG_SHADOW_NEWPID).
	while IFS= read -r m; do
		grep -q "^+[[:space:]]*#[[:space:]]*define[[:space:]]*$m\b" "$patch" && continue
		grep -Eq "^[[:space:]]*#[[:space:]]*define[[:space:]]+$m\b" "$header" || missing="$missing $m"
	done < <(grep '^+' "$patch" | grep -o 'KPG_[A-Z0-9_]*' | sort -u)
	[ -z "$missing" ] || echo "templates/include/kpatch-gen.h does not define:$missing"
}

# An example's `report` file: one jq condition a line (blank lines and '#' comments
# skipped), each of which must be `true` of the JSON report `kpatch-gen build` writes next
# to the module (<module>.json). It pins how the builder got its module, where the outcome
# alone does not (examples/notrace-free-one-page: the notrace function's callers patched
# instead, not a klp_func for it). Prints the first condition that does not hold, with
# what jq said, and returns 1; returns 0 (printing nothing) when all hold or there is no
# `report` file.
# An example's file FILE for kernel line LINE: FILE.LINE when the example has one (the code
# differs between the lines: meminfo-string.6.12.patch, report.6.12), else FILE.
# kpg_debian_line RELEASE: the kernel line of a Debian kernel release, which picks an
# example's NAME.LINE.patch: 6.1.0-57-cloud-amd64 -> 6.1, 6.12.118+deb12-cloud-amd64 -> 6.12
# (as debian_kernel_series() in kpatch-gen/builder/debian.cc).
kpg_debian_line() { case "$1" in 6.1.0-*) echo 6.1 ;; *) echo "$1" | sed -E 's/^([0-9]+\.[0-9]+)\..*/\1/' ;; esac; }

kpg_example_file() { # kpg_example_file EXAMPLE_DIR FILE LINE
	local base=${2%.patch} ext=
	[ "$base" = "$2" ] || ext=.patch
	if [ -f "$1/$base.$3$ext" ]; then echo "$1/$base.$3$ext"; else echo "$1/$2"; fi
}

kpg_example_report_check() { # kpg_example_report_check EXAMPLE_DIR REPORT.json [LINE]
	local dir=$1 report=$2 cond got file
	file=$(kpg_example_file "$dir" report "${3:-6.1}")
	[ -f "$file" ] || return 0
	if [ ! -f "$report" ]; then
		echo "no build report $report to check $dir/report against"
		return 1
	fi
	while IFS= read -r cond; do
		case "$cond" in '' | '#'*) continue ;; esac
		got=$(jq -r "$cond" "$report" 2>&1) || true
		if [ "$got" != true ]; then
			echo "the build report $report does not satisfy $(basename "$dir")/$(basename "$file"): $cond (jq: $(printf '%s' "$got" | head -c 200))"
			return 1
		fi
	done <"$file"
}

# The examples under DIR that are for the lab kernel, one name a line. An example with a
# `kernel` file is for another kernel (btf-ids-netlink: Debian's, built and probed by
# debian.special-sections) and has no lab build, probe or builder.example.<name> test.
kpg_lab_examples() { # kpg_lab_examples DIR
	local d
	for d in "$1"/*/; do
		[ -f "$d/kernel" ] || basename "$d"
	done
}
