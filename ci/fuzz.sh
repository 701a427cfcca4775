#!/bin/bash
# Bounded libFuzzer run of lib/elf's reader (fuzz/fuzz_elf_reader.cc).
#
#   ci/fuzz.sh [SECONDS]      default 60
#
# Configures and builds a separate clang build directory with every target instrumented
# (KPG_FUZZ=ON; $KPG_FUZZ_BUILD, default build-fuzz/), compiles the seed corpus from
# fuzz/seeds/ and copies a few real objects of the system toolchain, then fuzzes for the
# given time. The corpus the fuzzer grows is kept in the build directory for the next run.
# Exits non-zero on any crash, sanitizer report, leak, timeout or out-of-memory, printing
# the reproducer's path and how to replay it.
set -euo pipefail

secs=${1:-60}
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${KPG_FUZZ_BUILD:-$repo/build-fuzz}
jobs=${KPG_FUZZ_JOBS:-2}

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 \
	-DKPG_FUZZ=ON -DKPG_TESTS=OFF -DKPG_WERROR=ON >/dev/null
cmake --build "$build" --target fuzz_elf_reader -j "$jobs"
fuzzer=$build/fuzz/fuzz_elf_reader

# Seed corpus, rebuilt on every run (never checked in).
seeds=$build/fuzz/seeds corpus=$build/fuzz/corpus artifacts=$build/fuzz/artifacts
rm -rf "$seeds" "$artifacts"
mkdir -p "$seeds" "$corpus" "$artifacts"
cflags="-O2 -mfentry -pg -mrecord-mcount -ffunction-sections -fdata-sections -fno-pic -mcmodel=kernel -mno-red-zone"
for c in "$repo"/fuzz/seeds/*.c; do
	n=$(basename "$c" .c)
	gcc -c $cflags -o "$seeds/$n.o" "$c"
	gcc -c $cflags -g -o "$seeds/$n-g.o" "$c" # DWARF sections and their relocations
	gcc -c $cflags -g -gz=zlib -o "$seeds/$n-gz.o" "$c" # SHF_COMPRESSED
done
for s in "$repo"/fuzz/seeds/*.s; do
	as --64 -o "$seeds/$(basename "$s" .s).o" "$s"
done
# Real objects from other toolchain paths (crt files: .init/.fini fragments, notes,
# .eh_frame, startup code), when installed. Small ones only: -max_len bounds inputs.
for o in /usr/lib/x86_64-linux-gnu/crt[1in].o /usr/lib/gcc/x86_64-linux-gnu/*/crt{begin,end}.o; do
	if [ -f "$o" ] && [ "$(stat -c %s "$o")" -le 65536 ]; then
		cp "$o" "$seeds/real$(echo "$o" | tr / _)"
	fi
done
echo "fuzz.sh: $(ls "$seeds" | wc -l) seed inputs, fuzzing for ${secs}s"

status=0
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
	-artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds" 2>&1 |
	tee "$build/fuzz/last-run.log" || status=$?

found=$(find "$artifacts" -type f | sort)
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
	echo "fuzz.sh: fuzz_elf_reader failed (exit $status); log: $build/fuzz/last-run.log" >&2
	for f in $found; do
		echo "fuzz.sh: reproducer: $f" >&2
		echo "fuzz.sh:   replay with: $fuzzer $f" >&2
	done
	exit 1
fi
echo "fuzz.sh: no crash in ${secs}s"
