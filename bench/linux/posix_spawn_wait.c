// posix_spawn_wait: posix_spawns /bin/true and waits for it, N times;
// prints the mean in microseconds. Usage: posix_spawn_wait N
// (glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK): no page tables are
// copied, unlike fork.)
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 200;
	char *args[] = {"true", NULL};
	char *env[] = {NULL};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		pid_t pid;
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, args, env) != 0)
			return 1;
		int st;
		waitpid(pid, &st, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3;
	printf("%.2f\n", us / n);
	return 0;
}
