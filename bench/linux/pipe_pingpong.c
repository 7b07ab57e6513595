/*
 * pipe_pingpong: the Linux baseline for isle's urpc benchmark.
 *
 * Two processes, pinned to two different CPUs, bounce one byte through a
 * pair of pipes. Prints the mean round trip in nanoseconds.
 *
 * usage: pipe_pingpong ROUNDS CPU_A CPU_B
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
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
	if (argc != 4) {
		fprintf(stderr, "usage: %s ROUNDS CPU_A CPU_B\n", argv[0]);
		return 2;
	}
	long rounds = atol(argv[1]);
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
	struct timespec t0, t1;
	for (long i = 0; i < warm + rounds; i++) {
		if (i == warm)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		xwrite(ab[1], c);
		xread(ba[0], &c);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int status;
	waitpid(pid, &status, 0);
	double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	printf("%.1f\n", ns / rounds);
	return 0;
}
