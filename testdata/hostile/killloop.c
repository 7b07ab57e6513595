// killloop spawns a child that spins without system calls, kills it and
// waits for it, over and over (argv[2] rounds, default 1000; argv[1] is the
// child's module). isle must deliver every kill, wherever the balancer has
// moved the child to, and proc_wait must return 137 each round; a lost kill
// leaves proc_wait waiting forever beside a spinning child. A second kill of
// the dead child must be harmless. It prints "killloop: N rounds" and exits 0.
// isle-test: args /bin/forever.wasm 200
// isle-test: stdout killloop: 200 rounds
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "isle_proc.h"

// spin_us burns CPU for us microseconds, so that parent and child are both
// runnable and the balancer moves one of them between the spawn and the kill.
static void spin_us(long long us) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long end = ts.tv_sec * 1000000000LL + ts.tv_nsec + us * 1000;
	do
		clock_gettime(CLOCK_MONOTONIC, &ts);
	while (ts.tv_sec * 1000000000LL + ts.tv_nsec < end);
}

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	const char *path = argv[1];
	int rounds = argc > 2 ? atoi(argv[2]) : 1000;
	for (int i = 0; i < rounds; i++) {
		uint32_t pid, st;
		uint64_t cpu;
		int e = isle_proc_spawn(path, strlen(path), "spin", 5, 0, &pid);
		if (e) {
			printf("round %d: spawn: errno %d\n", i, e);
			return 1;
		}
		spin_us((i % 4) * 1000);
		if ((e = isle_proc_kill(pid))) {
			printf("round %d: kill: errno %d\n", i, e);
			return 1;
		}
		if (i % 2 && (e = isle_proc_kill(pid))) { // a second kill, in flight beside the first
			printf("round %d: second kill: errno %d\n", i, e);
			return 1;
		}
		if ((e = isle_proc_wait(pid, &st, &cpu)) || st != 137) {
			printf("round %d: wait: errno %d status %u\n", i, e, st);
			return 1;
		}
	}
	printf("killloop: %d rounds\n", rounds);
	return 0;
}
