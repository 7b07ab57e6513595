// sleep-forever asks poll_oneoff for relative timeouts of 2^63-1 ns (what Go's
// time.Sleep(math.MaxInt64) asks for) and 2^64-1 ns. isle must saturate the
// deadline (now + timeout does not fit in 64 bits) rather than wrap it into
// the past: the SIP sleeps, using no CPU. Alone beside a 200 ms clock, each
// huge one must not fire: the poll returns after 200 ms with the short
// clock's event only, having used (almost) no CPU; then it exits. With the
// argument "forever" (and "u64" for 2^64-1) it sleeps until it is killed
// (internal/wasi's TestSleepForeverUsesNoCPU kills it).
// isle-test: status 0
// isle-test: stdout 2^63-1 ns beside 200 ms: ok
// isle-test: stdout 2^64-1 ns beside 200 ms: ok
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static __wasi_timestamp_t now(__wasi_clockid_t id) {
	__wasi_timestamp_t t = 0;
	__wasi_clock_time_get(id, 1, &t);
	return t;
}

static void beside(const char *name, __wasi_timestamp_t huge) {
	__wasi_subscription_t subs[2] = {0};
	subs[0].userdata = 1;
	subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
	subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	subs[0].u.u.clock.timeout = huge;
	subs[1] = subs[0];
	subs[1].userdata = 2;
	subs[1].u.u.clock.timeout = 200 * 1000 * 1000;
	__wasi_event_t ev[2];
	__wasi_size_t n = 0;
	__wasi_timestamp_t t0 = now(__WASI_CLOCKID_MONOTONIC), c0 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
	__wasi_errno_t e = __wasi_poll_oneoff(subs, ev, 2, &n);
	__wasi_timestamp_t slept = now(__WASI_CLOCKID_MONOTONIC) - t0, cpu = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID) - c0;
	int ok = e == 0 && n == 1 && ev[0].userdata == 2 && slept >= 200 * 1000 * 1000 && cpu < 50 * 1000 * 1000;
	printf("%s beside 200 ms: %s (errno %d, %u events, first %llu, slept %llu us, cpu %llu us)\n", name, ok ? "ok" : "FAIL",
	       e, n, n ? (unsigned long long)ev[0].userdata : 0, (unsigned long long)slept / 1000, (unsigned long long)cpu / 1000);
}

int main(int argc, char **argv) {
	setvbuf(stdout, 0, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "forever") == 0) {
		__wasi_subscription_t sub = {0};
		sub.u.tag = __WASI_EVENTTYPE_CLOCK;
		sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
		sub.u.u.clock.timeout = argc > 2 ? ~0ull : ~0ull >> 1;
		__wasi_event_t ev;
		__wasi_size_t n;
		printf("sleeping\n");
		for (;;)
			__wasi_poll_oneoff(&sub, &ev, 1, &n);
	}
	beside("2^63-1 ns", ~0ull >> 1);
	beside("2^64-1 ns", ~0ull);
	return 0;
}
