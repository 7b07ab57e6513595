// clocks checks the clocks, random_get and sched_yield from inside a SIP and
// prints one line per check: "ok NAME" or "FAIL NAME".
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <wasi/api.h>

static int fails;
static void check(int ok, const char *name) {
	printf("%s %s\n", ok ? "ok" : "FAIL", name);
	if (!ok) fails++;
}

int main(void) {
	__wasi_timestamp_t a, b, res;
	check(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &a) == 0, "monotonic");
	for (int i = 0; i < 100; i++) sched_yield();
	check(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &b) == 0 && b >= a, "monotonic never goes back");
	check(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &a) == 0 && a > 1600000000ull * 1000000000ull, "realtime after 2020");
	check(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res) == 0 && res > 0, "resolution");
	check(__wasi_clock_time_get(99, 1, &a) == __WASI_ERRNO_INVAL, "unknown clock is EINVAL");
	unsigned char buf[64], zero[64] = {0};
	check(__wasi_random_get(buf, sizeof buf) == 0 && memcmp(buf, zero, sizeof buf) != 0, "random");
	check(__wasi_random_get((uint8_t *)0xFFFFFFF0u, 64) == __WASI_ERRNO_FAULT, "random into a wild pointer is EFAULT");
	struct timespec ts = {0, 20 * 1000 * 1000};
	(void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &a);
	nanosleep(&ts, NULL);
	(void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &b);
	check(b - a >= 20 * 1000 * 1000, "nanosleep sleeps 20ms");
	check(__wasi_fd_write(9, NULL, 0, NULL) == __WASI_ERRNO_BADF, "write to a closed fd is EBADF");
	return fails;
}
