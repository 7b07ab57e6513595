// spinchild is examples/spin's C twin for the process-API test: it sleeps
// until the start time given as its third argument (Unix ns), burns CPU
// until that time plus the milliseconds given as its first, and prints its
// name (the second).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc < 4)
		return 2;
	long long ms = atoll(argv[1]);
	long long start = atoll(argv[3]);
	long long wait = start - now_ns(CLOCK_REALTIME);
	if (wait > 0) {
		struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
		nanosleep(&ts, NULL);
	}
	// Every sibling stops at start+ms, whenever the scheduler first ran it.
	long long end = start + ms * 1000000LL;
	volatile unsigned long x = 0;
	while (now_ns(CLOCK_REALTIME) < end)
		for (int i = 0; i < 1000; i++)
			x += i;
	printf("%s: done\n", argv[2]);
	return 0;
}
