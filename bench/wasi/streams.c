// streams: console throughput for isle bench wasi (issue 16).
//   streams cat      copies stdin to stdout, 64 KiB at a time, to the end
//   streams lines N  writes N short lines to stdout, one write(2) each, as
//                    Go's fmt.Println does
// It prints "cat_ns N" or "lines_ns N" on stderr: the time from its first
// call to its last, so that start-up is not counted.
// Built with: clang --target=wasm32-wasi -O2 -o streams.wasm streams.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static char buf[64 << 10];

int main(int argc, char **argv) {
	long long t0 = now();
	if (argc == 2 && strcmp(argv[1], "cat") == 0) {
		for (;;) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n < 0) { perror("read"); return 1; }
			if (n == 0) break;
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(1, buf + off, n - off);
				if (w <= 0) { perror("write"); return 1; }
				off += w;
			}
		}
		fprintf(stderr, "cat_ns %lld\n", now() - t0);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "lines") == 0) {
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++) {
			int k = snprintf(buf, 64, "line %d of the console benchmark\n", i);
			if (write(1, buf, k) != k) { perror("write"); return 1; }
		}
		fprintf(stderr, "lines_ns %lld\n", now() - t0);
		return 0;
	}
	fprintf(stderr, "usage: streams cat | streams lines N\n");
	return 2;
}
