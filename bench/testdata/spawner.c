// spawner: spawns the module argv[1] (with argv[1] as its only argument)
// argv[2] times, each waited for before the next, and prints the mean time
// of one spawn+exit+wait in microseconds; exits 1 on an error. For isle
// bench spawn's row from a parent SIP (the counterpart of fork+exec+wait).
//
//	clang --target=wasm32-wasi -O2 -Iguest/c -Wl,--strip-all -o bench/testdata/spawner.wasm bench/testdata/spawner.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 3)
		return 1;
	const char *path = argv[1];
	long n = atol(argv[2]);
	size_t len = strlen(path);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		uint32_t pid, status;
		uint64_t cpu;
		int e = isle_proc_spawn(path, len, path, len + 1, 0, &pid);
		if (e == 0)
			e = isle_proc_wait(pid, &status, &cpu);
		if (e != 0 || status != 0) {
			fprintf(stderr, "spawner: errno %d, status %u\n", e, status);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3;
	printf("%.2f\n", us / n);
	return 0;
}
