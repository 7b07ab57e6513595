// sleeps checks that the sleeps of wasi-libc sleep and return 0, timing each
// with clock_gettime, and that poll_oneoff's clock subscriptions are decoded
// as wasmtime does. One line per check: "ok NAME" or "FAIL NAME".
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <wasi/api.h>

static int fails;
static void check(int ok, const char *name) {
	printf("%s %s\n", ok ? "ok" : "FAIL", name);
	if (!ok) fails++;
}

static long long now(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const long long ms10 = 10 * 1000 * 1000;

static __wasi_subscription_t clocksub(__wasi_userdata_t ud, __wasi_clockid_t id, __wasi_timestamp_t timeout, __wasi_subclockflags_t flags) {
	__wasi_subscription_t s = {0};
	s.userdata = ud;
	s.u.tag = __WASI_EVENTTYPE_CLOCK;
	s.u.u.clock.id = id;
	s.u.u.clock.timeout = timeout;
	s.u.u.clock.flags = flags;
	return s;
}

int main(void) {
	struct timespec d = {0, ms10};
	long long t0 = now(CLOCK_MONOTONIC);
	int r = nanosleep(&d, NULL);
	check(r == 0 && now(CLOCK_MONOTONIC) - t0 >= ms10, "nanosleep 10ms returns 0 after 10ms");

	t0 = now(CLOCK_MONOTONIC);
	r = clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
	check(r == 0 && now(CLOCK_MONOTONIC) - t0 >= ms10, "clock_nanosleep monotonic relative");

	t0 = now(CLOCK_REALTIME);
	r = clock_nanosleep(CLOCK_REALTIME, 0, &d, NULL);
	check(r == 0 && now(CLOCK_REALTIME) - t0 >= ms10, "clock_nanosleep realtime relative");

	long long until = now(CLOCK_MONOTONIC) + ms10;
	struct timespec abs = {until / 1000000000, until % 1000000000};
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
	check(r == 0 && now(CLOCK_MONOTONIC) >= until, "clock_nanosleep monotonic absolute");

	until = now(CLOCK_REALTIME) + ms10;
	abs.tv_sec = until / 1000000000;
	abs.tv_nsec = until % 1000000000;
	r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL);
	check(r == 0 && now(CLOCK_REALTIME) >= until, "clock_nanosleep realtime absolute");

	abs.tv_sec = 1;
	abs.tv_nsec = 0;
	t0 = now(CLOCK_MONOTONIC);
	r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL);
	check(r == 0 && now(CLOCK_MONOTONIC) - t0 < 1000LL * 1000 * 1000, "an absolute time in the past returns at once");

	// Two clocks: the 10 ms one fires, the hour-long one does not.
	__wasi_subscription_t subs[2] = {
		clocksub(1, __WASI_CLOCKID_MONOTONIC, 3600ull * 1000 * 1000 * 1000, 0),
		clocksub(2, __WASI_CLOCKID_MONOTONIC, ms10, 0),
	};
	__wasi_event_t ev[2];
	__wasi_size_t n = 99;
	t0 = now(CLOCK_MONOTONIC);
	__wasi_errno_t e = __wasi_poll_oneoff(subs, ev, 2, &n);
	check(e == 0 && n == 1 && ev[0].userdata == 2 && ev[0].error == 0 && ev[0].type == __WASI_EVENTTYPE_CLOCK &&
	      now(CLOCK_MONOTONIC) - t0 >= ms10, "the earlier of two clocks fires, alone");

	subs[0] = clocksub(3, __WASI_CLOCKID_PROCESS_CPUTIME_ID, ms10, 0);
	check(__wasi_poll_oneoff(subs, ev, 1, &n) == __WASI_ERRNO_INVAL, "a CPU-time clock is EINVAL");
	subs[0] = clocksub(3, 99, ms10, 0);
	check(__wasi_poll_oneoff(subs, ev, 1, &n) == __WASI_ERRNO_INVAL, "an unknown clock is EINVAL");
	subs[0] = clocksub(3, __WASI_CLOCKID_MONOTONIC, ms10, 2);
	check(__wasi_poll_oneoff(subs, ev, 1, &n) == __WASI_ERRNO_INVAL, "an unknown subscription flag is EINVAL");
	subs[0] = clocksub(3, __WASI_CLOCKID_MONOTONIC, ms10, 0);
	subs[0].u.tag = 7;
	check(__wasi_poll_oneoff(subs, ev, 1, &n) == __WASI_ERRNO_INVAL, "an unknown event type is EINVAL");
	check(__wasi_poll_oneoff(subs, ev, 0, &n) == __WASI_ERRNO_INVAL, "no subscriptions is EINVAL");
	return fails;
}
