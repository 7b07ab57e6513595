// orphans: an attack on the process tree. The first SIP spawns 50 copies
// of itself that spin forever (argv[1] "spin"), and exits without waiting
// for them.
//
// usage: orphans SELF [wait]   (SELF: this module's path as SIPs see it,
// under a --dir preopen)
//
// isle must not leave them running: a SIP's children end with it (killed,
// status 137), so the machine is idle soon after the first SIP exits.
// With "wait", the first SIP prints each child's pid, then waits for each
// and prints its status (for a test that kills them from outside, with
// Machine.Kill), and exits 0. (The suite checks that the machine survives
// them; TestOrphansEndWithTheirParent that they end.)
// isle-test: args /bin/self.wasm
#include <stdio.h>
#include <string.h>
#include "isle_proc.h"

#define CHILDREN 50

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: orphans SELF [wait]\n");
		return 2;
	}
	if (strcmp(argv[1], "spin") == 0) {
		volatile unsigned long x = 0;
		for (;;)
			x++;
	}
	const char *self = argv[1];
	static const char args[] = "orphans\0spin";
	uint32_t kids[CHILDREN];
	for (int i = 0; i < CHILDREN; i++) {
		int r = isle_proc_spawn(self, strlen(self), args, sizeof args, 0, &kids[i]);
		if (r != 0) {
			fprintf(stderr, "orphans: spawn %d: error %d\n", i, r);
			return 2;
		}
	}
	if (argc < 3 || strcmp(argv[2], "wait") != 0)
		return 0;
	for (int i = 0; i < CHILDREN; i++)
		printf("child %u\n", kids[i]);
	fflush(stdout);
	for (int i = 0; i < CHILDREN; i++) {
		uint32_t st;
		uint64_t cpu;
		if (isle_proc_wait(kids[i], &st, &cpu) != 0)
			return 3;
		printf("status %u\n", st);
	}
	return 0;
}
