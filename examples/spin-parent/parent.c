// parent spawns CPU-bound children with different nice values and prints
// each one's share of the CPU they received together.
//
//	clang --target=wasm32-wasi -O2 -I guest/c -o parent.wasm examples/spin-parent/parent.c
//	GOOS=wasip1 GOARCH=wasm go build -o dir/spin.wasm ./examples/spin
//	isle run --dir dir:/bin parent.wasm /bin/spin.wasm 1s -5 0 5
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: parent CHILD.wasm DURATION NICE...\n");
		return 2;
	}
	const char *child = argv[1], *duration = argv[2];
	int n = argc - 3;
	// The children sleep until a common start, half a second from now (time
	// enough to load and start them all), then spin over the same interval.
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long start = now.tv_sec * 1000000000LL + now.tv_nsec + 500000000LL;
	uint32_t pids[64];
	int nices[64];
	if (n > 64) n = 64;
	for (int i = 0; i < n; i++) {
		nices[i] = atoi(argv[3 + i]);
		char args[256];
		int len = snprintf(args, sizeof args, "spin%c%s%cchild %d (nice %d)%c%lld", 0, duration, 0, i, nices[i], 0, start);
		int err = isle_proc_spawn(child, strlen(child), args, len + 1, nices[i], &pids[i]);
		if (err) {
			fprintf(stderr, "parent: spawn %s: errno %d\n", child, err);
			return 1;
		}
	}
	uint64_t cpu[64], total = 0;
	for (int i = 0; i < n; i++) {
		uint32_t status;
		int err = isle_proc_wait(pids[i], &status, &cpu[i]);
		if (err || status != 0) {
			fprintf(stderr, "parent: child %d: errno %d status %u\n", i, err, status);
			return 1;
		}
		total += cpu[i];
	}
	for (int i = 0; i < n; i++)
		printf("child %d (pid %u, nice %d): %.1f%% of the CPU\n", i, pids[i], nices[i], 100.0 * cpu[i] / total);
	return 0;
}
