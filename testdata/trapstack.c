// trapstack traps (__builtin_trap: "unreachable") two calls deep, in inner
// called by outer called by main, so that isle's report of the trap names
// those functions from the module's "name" section (build it unstripped).
#include <stdio.h>

__attribute__((noinline)) void inner(int x) {
	if (x > 0)
		__builtin_trap();
}

__attribute__((noinline)) void outer(int x) { inner(x + 1); }

int main(int argc, char **argv) {
	(void)argv;
	printf("about to trap\n");
	fflush(stdout);
	outer(argc);
	return 0;
}
