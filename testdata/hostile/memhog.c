// memhog: an attack on the host's memory. It mallocs 64 MiB chunks (the
// size in MiB may be given as argv[1]) and writes every byte of each, until
// malloc returns NULL or the 4 GiB of a wasm32 memory are spent, then prints
// how many chunks it got and exits 0. Given argv[2], a time (Unix ns), it
// holds its memory until then before it exits; given "stdin", until its
// standard input ends: so that several memhogs hold theirs at once.
//
// isle must refuse the memory.grow behind a malloc past the SIP's memory
// limit (--memory-limit) or past the machine's budget (--machine-memory):
// memory.grow returns -1, malloc returns NULL, the program ends by itself
// and every other SIP and the host go on. It must never be the host that
// runs out of memory.
// isle-test: limit memory-limit=256M
// isle-test: stdout memhog: 3 chunks of 64 MiB
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64;
	if (mib == 0 || mib > 1024)
		mib = 64;
	size_t chunk = mib << 20;
	static char *chunks[4096];
	int n = 0;
	for (unsigned long long total = 0; total + chunk <= (4ull << 30); total += chunk) {
		char *p = malloc(chunk);
		if (p == NULL)
			break;
		memset(p, 0xa5, chunk);
		chunks[n++] = p;
	}
	// Read every chunk back, so that no allocation can be optimised away.
	unsigned long sum = 0;
	for (int i = 0; i < n; i++)
		sum += (unsigned char)chunks[i][chunk - 1];
	printf("memhog: %d chunks of %zu MiB (check %lu)\n", n, mib, sum / 0xa5);
	fflush(stdout);
	if (argc > 2 && strcmp(argv[2], "stdin") == 0) {
		char buf[64];
		while (fread(buf, 1, sizeof buf, stdin) > 0)
			;
		return 0;
	}
	long long until = argc > 2 ? atoll(argv[2]) : 0;
	struct timespec ts = {until / 1000000000LL, until % 1000000000LL};
	while (now_ns() < until)
		if (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) != 0)
			sched_yield();
	return 0;
}
