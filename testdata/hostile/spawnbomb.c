// spawnbomb: an attack on the machine's process count, the fork bomb of
// WebAssembly. Every SIP spawns 64 copies of itself, down to DEPTH levels
// below the first (default 3: up to 266,305 SIPs), and stays alive until a
// deadline (MS milliseconds after the first one starts, default 1000) and
// until its children have ended. (The SIPs above the last level, 4,161 of
// them at depth 3, outlive their children, so the bomb reaches a limit
// below that however slowly the machine spawns.)
//
// usage: spawnbomb SELF [DEPTH [MS]]   (SELF: this module's path as SIPs
// see it, under a --dir preopen)
//
// isle must stop the bomb at the machine's limit on a SIP's descendants
// (--max-procs): a spawn past it fails with EAGAIN, as fork does, and every
// other SIP and the host go on. A SIP that gets EAGAIN stops spawning and
// exits 75 (EX_TEMPFAIL) after the deadline; parents pass 75 up. The first
// SIP prints "spawnbomb: EAGAIN at the limit" and exits 0 if any SIP got
// EAGAIN, and "spawnbomb: never limited" with status 1 if none did; any other
// spawn error prints it and exits 2.
// isle-test: args /bin/self.wasm 3 500
// isle-test: limit max-procs=200
// isle-test: stdout spawnbomb: EAGAIN at the limit
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include "isle_proc.h"

#define FANOUT 64
#define EAGAIN_WASI 6
#define EX_TEMPFAIL 75

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// hold waits until the deadline, sleeping if the clock lets it, else yielding.
static void hold(long long deadline) {
	struct timespec ts = {deadline / 1000000000LL, deadline % 1000000000LL};
	while (now_ns() < deadline) {
		if (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) != 0)
			sched_yield();
	}
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: spawnbomb SELF [DEPTH [MS]]\n");
		return 2;
	}
	const char *self = argv[1];
	int depth = argc > 2 ? atoi(argv[2]) : 3;
	long long deadline = argc > 4 ? atoll(argv[4]) : now_ns() + (argc > 3 ? atoll(argv[3]) : 1000) * 1000000LL;
	int first = argc <= 4;

	char args[256];
	int len = 0;
	if (depth > 0)
		len = snprintf(args, sizeof args, "spawnbomb%c%s%c%d%c0%c%lld", 0, self, 0, depth - 1, 0, 0, deadline) + 1;
	uint32_t kids[FANOUT];
	int n = 0, again = 0;
	while (depth > 0 && n < FANOUT) {
		int r = isle_proc_spawn(self, strlen(self), args, len, 0, &kids[n]);
		if (r == EAGAIN_WASI) {
			again = 1;
			break;
		}
		if (r != 0) {
			fprintf(stderr, "spawnbomb: spawn: error %d\n", r);
			return 2;
		}
		n++;
	}
	hold(deadline);
	for (int i = 0; i < n; i++) {
		uint32_t st;
		uint64_t cpu;
		if (isle_proc_wait(kids[i], &st, &cpu) == 0 && st == EX_TEMPFAIL)
			again = 1;
	}
	if (!first)
		return again ? EX_TEMPFAIL : 0;
	if (again) {
		printf("spawnbomb: EAGAIN at the limit\n");
		return 0;
	}
	printf("spawnbomb: never limited\n");
	return 1;
}
