/*
 * spin MS: computes for MS milliseconds of wall-clock time (default 500),
 * reading the clock between short bursts of work, and prints the longest
 * time it found between two reads: how long it was kept off the core. It is
 * the third SIP beside a ping-pong pair on one core
 * (TestDirectSwitchKeepsThirdSIP): however the pair hands the core to each
 * other, isle's scheduler must give it the core every few slices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long long ms = argc > 1 ? atoll(argv[1]) : 500;
	volatile unsigned long n = 0;
	long long start = now_ns(), last = start, gap = 0;
	for (;;) {
		for (int i = 0; i < 1000; i++)
			n++;
		long long t = now_ns();
		if (t - last > gap)
			gap = t - last;
		last = t;
		if (t - start > ms * 1000000LL)
			break;
	}
	printf("spin: longest off the core %lld us\n", gap / 1000);
	return 0;
}
