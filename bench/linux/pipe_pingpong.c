/*
 * pipe_pingpong: the Linux baseline for isle's urpc benchmark.
 *
 * Two processes, pinned to two different CPUs, bounce one byte through a
 * pair of pipes. Prints the mean round trip in nanoseconds; with BATCH, also
 * the median over batches of BATCH rounds (a typical round trip, which the
 * rare long stalls of a shared machine do not move).
 *
 * With a fifth argument "percentiles", a second line has the percentiles 0
 * to 100 of the batches' round trips.
 *
 * usage: pipe_pingpong ROUNDS CPU_A CPU_B [BATCH [percentiles]]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void xread(int fd, char *c) {
	if (read(fd, c, 1) != 1) {
		perror("read");
		exit(1);
	}
}

static void xwrite(int fd, char c) {
	if (write(fd, &c, 1) != 1) {
		perror("write");
		exit(1);
	}
}

int main(int argc, char **argv) {
	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: %s ROUNDS CPU_A CPU_B [BATCH [percentiles]]\n", argv[0]);
		return 2;
	}
	long rounds = atol(argv[1]);
	long batch = argc >= 5 ? atol(argv[4]) : 0;
	long nb = batch > 0 ? rounds / batch : 0;
	double *bt = nb > 0 ? malloc(nb * sizeof *bt) : 0;
	if (nb > 0 && !bt) {
		perror("malloc");
		return 1;
	}
	long warm = rounds / 8 + 1;
	int ab[2], ba[2];
	if (pipe(ab) != 0 || pipe(ba) != 0) {
		perror("pipe");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	char c = 0;
	if (pid == 0) {
		pin(atoi(argv[3]));
		for (long i = 0; i < warm + rounds; i++) {
			xread(ab[0], &c);
			xwrite(ba[1], c + 1);
		}
		_exit(0);
	}
	pin(atoi(argv[2]));
	struct timespec t0 = {0}, t1, b0 = {0}, b1;
	for (long i = 0; i < warm + rounds; i++) {
		if (i == warm) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			b0 = t0;
		}
		xwrite(ab[1], c);
		xread(ba[0], &c);
		long k = i - warm + 1; /* rounds timed so far */
		if (nb > 0 && k > 0 && k % batch == 0 && k / batch <= nb) {
			clock_gettime(CLOCK_MONOTONIC, &b1);
			bt[k / batch - 1] = (b1.tv_sec - b0.tv_sec) * 1e9 + (b1.tv_nsec - b0.tv_nsec);
			b0 = b1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int status;
	waitpid(pid, &status, 0);
	double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	if (nb > 0) {
		qsort(bt, nb, sizeof *bt, cmp);
		printf("%.1f %.1f\n", ns / rounds, bt[nb / 2] / batch);
		if (argc == 6 && strcmp(argv[5], "percentiles") == 0) {
			for (int k = 0; k <= 100; k++) printf("%s%.1f", k ? " " : "", bt[(nb - 1) * k / 100] / batch);
			printf("\n");
		}
	} else {
		printf("%.1f\n", ns / rounds);
	}
	return 0;
}
