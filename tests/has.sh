# shellcheck shell=bash
# has [GREP-OPTION...] PATTERN: whether standard input has a line matching PATTERN (grep's
# options and exit status 0/1). Use it instead of `| grep -q` in scripts that run under
# `set -o pipefail`: grep -q exits at the first match, the writer dies of SIGPIPE on its next
# write, and the pipeline fails although it matched (or, negated, passes although it should
# fail). `readelf -SW module.ko | grep -q '\.klp\.rela\.'` failed builder.module-reload in CI
# so: readelf writes a module's section table in several 4 KiB blocks. has reads to the end.
# SPDX-License-Identifier: GPL-2.0-only
has() {
	local n
	n=$(grep -c "$@") || true
	[ "${n:-0}" -gt 0 ]
}
