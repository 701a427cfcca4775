#!/bin/bash
# Runtime constants (Linux 6.11+): vmlinux code reads USER_PTR_MAX as a movabs of the
# placeholder 0x0123456789abcdef that runtime_const_init() overwrites at boot, listed in
# section runtime_ptr_USER_PTR_MAX (6.12's access_ok(), e.g. kernel/ptrace.c). A copy in the
# patch module must read the variable instead: `mov USER_PTR_MAX(%rip), %reg` + a 3-byte NOP
# in the same 10 bytes, with a PC32 relocation to USER_PTR_MAX; the table is not carried. The
# same for a register that needs REX.B (r9 -> REX.R). A shift by a runtime constant is refused.
. "$(dirname "$0")/common.sh"
# runtime_const_ptr() as arch/x86/include/asm/runtime-const.h (6.12) has it.
hdr='#define runtime_const_ptr(sym) ({ unsigned long __ret; asm("mov %1,%0\n1:\n" ".pushsection runtime_ptr_" #sym ",\"a\"\n\t" ".long 1b - %c2 - .\n" ".popsection" : "=r" (__ret) : "i" (0x0123456789abcdefull), "i" (sizeof(long))); __ret; })
extern unsigned long USER_PTR_MAX;
static inline int ok(unsigned long p) { return p <= runtime_const_ptr(USER_PTR_MAX); }
int other(unsigned long p) { return ok(p); }'
cat > "$t/orig.c" <<C
$hdr
int check(unsigned long p) { return ok(p) ? 0 : -14; }
C
cat > "$t/patched.c" <<C
$hdr
int check(unsigned long p) { return ok(p) && p ? 0 : -14; }
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
readelf -SW "$t/patched.o" | has -F runtime_ptr_USER_PTR_MAX
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 0
[ "$(changed)" = check ]
# The rewritten site: the movabs's 10 bytes at the entry's place became REX.W 8B /r
# (ModRM 00 reg 101: RIP-relative) + disp32 0 + 0f 1f 00.
site=$(out_relocs .text.check | awk '$3 == "USER_PTR_MAX" {print $1, $2, $4}')
read -r off type addend <<<"$site"
[ "$type" = R_X86_64_PC32 ] && [ "$addend" = "-" ] || { echo "relocation: '$site'" >&2; exit 1; }
out_relocs .text.check | awk '$3 == "USER_PTR_MAX"' | has -F -- '- 4'
bytes=$(sec_bytes .text.check $((16#$off - 3)) 10)
[[ "$bytes" =~ ^488b[0-3][5d]000000000f1f00$ ]] ||
	{ echo "site bytes: $bytes" >&2; exit 1; }
[ -z "$(readelf -SW "$t/out.o" | grep -F runtime_ptr_)" ]
jqr '.notes[]' | has -F 'runtime constant USER_PTR_MAX read from the variable'
# The placeholder appears nowhere in the output's code.
[ -z "$(od -An -tx1 -v "$t/out.o" | tr -d ' \n' | grep -F efcdab8967452301)" ]

# r9: REX.B 0x49 B9 becomes REX.R 0x4c 8B 0d.
cat > "$t/orig9.c" <<C
$hdr
int check9(unsigned long p) { register unsigned long m asm("r9") = runtime_const_ptr(USER_PTR_MAX); asm("" : "+r" (m)); return p <= m ? 0 : -14; }
C
sed 's/? 0 : -14/? 1 : -14/' "$t/orig9.c" >"$t/patched9.c"
kcc "$t/orig9.c" "$t/orig9.o"
kcc "$t/patched9.c" "$t/patched9.o"
kdiff "$t/orig9.o" "$t/patched9.o"
expect_rc 0
off=$(out_relocs .text.check9 | awk '$3 == "USER_PTR_MAX" {print $1}')
[ -n "$off" ]
bytes=$(sec_bytes .text.check9 $((16#$off - 3)) 10)
[ "$bytes" = 4c8b0d000000000f1f00 ] || { echo "r9 site bytes: $bytes" >&2; exit 1; }

# A shift by a runtime constant: refused, not copied with its placeholder.
cat > "$t/shift-orig.c" <<'C'
static unsigned int d_hash_shift;
#define runtime_const_shift_right_32(val, sym) ({ typeof(0u+(val)) __ret = (val); asm("shrl $12,%k0\n1:\n" ".pushsection runtime_shift_" #sym ",\"a\"\n\t" ".long 1b - 1 - .\n" ".popsection" : "+r" (__ret)); __ret; })
unsigned int hash(unsigned int v) { return runtime_const_shift_right_32(v, d_hash_shift) + 1; }
unsigned int *keep(void) { return &d_hash_shift; }
C
sed 's/+ 1; }/+ 2; }/' "$t/shift-orig.c" >"$t/shift-patched.c"
kcc "$t/shift-orig.c" "$t/shift-orig.o"
kcc "$t/shift-patched.c" "$t/shift-patched.o"
kdiff "$t/shift-orig.o" "$t/shift-patched.o"
expect_rc 1
refusal_codes | has_line UNSUPPORTED_SPECIAL_SECTION
jqr '.refusals[].message' | has -F 'a shift by a runtime constant'
