// Console output that isle holds in the SIP and sends in batches
// (docs/wasi.md, "Console output"). "many N": N lines on stdout by write(2),
// one in ten followed by a line on stderr, then exits; the two streams must
// come out in the order written. "spin": one line, then 5 s of computing
// with no call that waits: the line must come out while it computes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	char line[64];
	if (argc == 3 && strcmp(argv[1], "many") == 0) {
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++) {
			int k = snprintf(line, sizeof line, "out %d\n", i);
			if (write(1, line, k) != k) return 1;
			if (i % 10 == 9) {
				k = snprintf(line, sizeof line, "err %d\n", i);
				if (write(2, line, k) != k) return 1;
			}
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "spin") == 0) {
		write(1, "started\n", 8);
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		volatile unsigned long x = 0;
		do {
			for (int i = 0; i < 100000; i++) x += i;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (t.tv_sec - t0.tv_sec < 5);
		write(1, "done\n", 5);
		return 0;
	}
	return 2;
}
