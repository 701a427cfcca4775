/* Seed: the smallest useful kernel-style object (one function, one variable, one call). */
int tiny_counter;
extern void tiny_hook(int);
int tiny_fn(int x) { tiny_hook(x); return x + tiny_counter; }
