// sleep-forever asks poll_oneoff for a relative timeout of 2^63-1 ns (what Go's
// time.Sleep(math.MaxInt64) asks for), or of 2^64-1 ns when given an argument,
// in a loop, as Go's runtime does when a sleep returns early. isle must saturate the deadline
// (now + timeout does not fit in 64 bits) and sleep the SIP until it is
// killed: it must use no CPU meanwhile. The test kills it.
#include <stdio.h>
#include <wasi/api.h>

int main(int argc, char **argv) {
	(void)argv;
	__wasi_subscription_t sub = {0};
	sub.u.tag = __WASI_EVENTTYPE_CLOCK;
	sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	__wasi_event_t ev;
	__wasi_size_t n;
	printf("sleeping\n");
	fflush(stdout);
	sub.u.u.clock.timeout = argc > 1 ? ~0ull : ~0ull >> 1;
	for (;;)
		__wasi_poll_oneoff(&sub, &ev, 1, &n);
}
