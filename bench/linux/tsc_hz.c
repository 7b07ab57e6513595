// tsc_hz: the rate of the CPU's time-stamp counter, calibrated against
// CLOCK_MONOTONIC_RAW over MS milliseconds (default 200): the TSC ticks
// counted between two clock reads, divided by the time between them. It is
// what isle bench table1 turns nanoseconds into cycles with (the TSC runs at
// the CPU's nominal rate on every x86 CPU of this century: constant_tsc).
// Prints the rate in Hz, or fails on a CPU without a TSC. Usage: tsc_hz [MS]
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
#if defined(__x86_64__) || defined(__i386__)
	double ms = argc > 1 ? atof(argv[1]) : 200;
	double t0 = now();
	unsigned long long c0 = __rdtsc();
	while (now() - t0 < ms / 1000)
		;
	unsigned long long c1 = __rdtsc();
	double t1 = now();
	printf("%.0f\n", (c1 - c0) / (t1 - t0));
	return 0;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "tsc_hz: no time-stamp counter on this CPU\n");
	return 1;
#endif
}
