/* Seed: many kinds of sections a kernel compilation unit has: per-function and per-object
 * sections, .bss, merged strings, a jump table, pointer tables, an __ex_table-style
 * pushsection, a weak function and __mcount_loc (from -pg -mrecord-mcount). */
struct ops { int (*fn)(int); const char *name; };
static int counter;
int global_data = 42;
extern int ext_fn(int);
extern void printk(const char *, ...);
static int __attribute__((noinline)) helper(int x) { return x * 3 + counter; }
int entry(int x) { counter++; printk("entry %d\n", x); return helper(x) + ext_fn(x); }
int __attribute__((weak)) weak_fn(int x) { return x + 1; }
static const struct ops my_ops = { helper, "ops" };
const struct ops *get_ops(void) { return &my_ops; }
int sw(int x) {
	switch (x) {
	case 0: return ext_fn(11); case 1: return ext_fn(22); case 2: return ext_fn(37);
	case 3: return ext_fn(41); case 4: return ext_fn(53); default: return 0;
	}
}
void *ptrs[] = { &counter, &global_data, (void *)entry };
int ex(int *p)
{
	int v;
	asm volatile("1: movl (%1),%0\n2:\n"
		     ".pushsection __ex_table,\"a\"\n .long 1b - .\n .long 2b - .\n .popsection"
		     : "=r"(v) : "r"(p));
	return v;
}
