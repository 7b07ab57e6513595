// spintree is a process tree for the group-scheduling test (sched_test.go):
// it spawns argv[2] copies of argv[1] (testdata/spin.c) with argument
// argv[3] (milliseconds to spin), prints "spawned" once they all are,
// waits for them all, and prints the CPU time they received in all, in
// microseconds: "tree N".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 4)
		return 2;
	const char *path = argv[1];
	int n = atoi(argv[2]);
	char args[64];
	int len = snprintf(args, sizeof args, "spin%c%s", 0, argv[3]) + 1;
	uint32_t kids[256];
	if (n < 1 || n > 256)
		return 2;
	for (int i = 0; i < n; i++)
		if (isle_proc_spawn(path, strlen(path), args, len, 0, &kids[i]))
			return 3;
	printf("spawned\n");
	fflush(stdout);
	unsigned long long total = 0;
	for (int i = 0; i < n; i++) {
		uint32_t st;
		uint64_t cpu;
		if (isle_proc_wait(kids[i], &st, &cpu) || st != 0)
			return 4;
		total += cpu;
	}
	printf("tree %llu\n", total / 1000);
	return 0;
}
