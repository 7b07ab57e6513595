// napper alternates for the number of milliseconds given as its argument:
// it burns CPU for 1 ms, then sleeps for 1 ms (a SIP that wakes up often),
// and prints the CPU time it received, in microseconds.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long long ms = argc > 1 ? atoll(argv[1]) : 100;
	long long end = now_ns(CLOCK_MONOTONIC) + ms * 1000000LL;
	volatile unsigned long x = 0;
	struct timespec nap = {0, 1000000};
	while (now_ns(CLOCK_MONOTONIC) < end) {
		long long burst = now_ns(CLOCK_MONOTONIC) + 1000000LL;
		while (now_ns(CLOCK_MONOTONIC) < burst)
			for (int i = 0; i < 100; i++)
				x += i;
		nanosleep(&nap, NULL);
	}
	printf("%lld\n", now_ns(CLOCK_PROCESS_CPUTIME_ID) / 1000);
	return 0;
}
