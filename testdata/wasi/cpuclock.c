// cpuclock checks that the CPU-time clocks are as precise as they claim:
// clock_res_get says 1 ns, so two reads some microseconds apart, with the
// SIP running between them, must differ, by no more than the monotonic
// time that passed. Prints "ok NAME" or "FAIL NAME ..." per check and
// exits with the number of failures.
#include <stdio.h>
#include <wasi/api.h>

static int fails;

static __wasi_timestamp_t now(__wasi_clockid_t id) {
	__wasi_timestamp_t t = 0;
	if (__wasi_clock_time_get(id, 1, &t) != 0)
		fails++;
	return t;
}

// spin busy-waits until the monotonic clock has advanced by ns.
static void spin(__wasi_timestamp_t ns) {
	__wasi_timestamp_t end = now(__WASI_CLOCKID_MONOTONIC) + ns;
	while (now(__WASI_CLOCKID_MONOTONIC) < end)
		;
}

static void check(__wasi_clockid_t id, const char *name) {
	__wasi_timestamp_t res = 0;
	if (__wasi_clock_res_get(id, &res) != 0 || res != 1) {
		printf("FAIL %s resolution %llu\n", name, (unsigned long long)res);
		fails++;
		return;
	}
	int bad = 0;
	for (int i = 0; i < 50; i++) {
		__wasi_timestamp_t m0 = now(__WASI_CLOCKID_MONOTONIC);
		__wasi_timestamp_t c0 = now(id);
		spin(50 * 1000);
		__wasi_timestamp_t c1 = now(id);
		__wasi_timestamp_t m1 = now(__WASI_CLOCKID_MONOTONIC);
		if (c1 <= c0 || c1 - c0 > m1 - m0) {
			if (!bad)
				printf("FAIL %s: cpu %llu ns over %llu ns of monotonic time\n", name,
				       (unsigned long long)(c1 - c0), (unsigned long long)(m1 - m0));
			bad++;
		}
	}
	if (bad)
		fails++;
	else
		printf("ok %s\n", name);
}

int main(void) {
	check(__WASI_CLOCKID_PROCESS_CPUTIME_ID, "process cputime");
	check(__WASI_CLOCKID_THREAD_CPUTIME_ID, "thread cputime");
	return fails;
}
