// fscalls makes argv[1] calls to the file-system service's worker (rmdir
// of a missing directory in the first preopen, /d: a change, which is
// never served on the core, unlike a stat or a read-only open) and prints
// the microseconds they took in all: "fscalls N us". For the wake-up preemption test
// (sched_test.go): each call's reply must reach it at once, not after the
// slice of a spinner on its core.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 100;
	long long start = now_ns();
	for (int i = 0; i < n; i++)
		if (rmdir("/d/missing") == 0)
			return 1;
	printf("fscalls %lld us\n", (now_ns() - start) / 1000);
	return 0;
}
