// getpid: calls the getpid system call N times (through syscall(2), so that
// no C library can answer from a cache) and prints the mean in ns: Linux's
// process->kernel call for isle bench table1. Usage: getpid N
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct timespec t0, t1;
	long sum = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		sum += syscall(SYS_getpid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (sum == 0)
		return 1;
	double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	printf("%.1f\n", ns / n);
	return 0;
}
