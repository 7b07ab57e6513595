// poll-many calls poll_oneoff with more subscriptions than any SIP can hold
// fds for (8,193 zero-timeout clocks), and with 89 million (the count that
// took 10 s and 4 GB when it was walked): isle must answer EINVAL at once,
// before reading them. It prints each errno and exits.
// isle-test: status 0
// isle-test: stdout 8192 subscriptions: 0, 8192 events
// isle-test: stdout 8193 subscriptions: 28
// isle-test: stdout 89 million subscriptions: 28
#include <stdio.h>
#include <stdlib.h>
#include <wasi/api.h>

int main(void) {
	size_t n = 8193;
	__wasi_subscription_t *subs = calloc(n, sizeof *subs);
	__wasi_event_t *ev = calloc(n, sizeof *ev);
	for (size_t i = 0; i < n; i++) {
		subs[i].u.tag = __WASI_EVENTTYPE_CLOCK;
		subs[i].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	}
	__wasi_size_t got = 0;
	__wasi_errno_t e = __wasi_poll_oneoff(subs, ev, 8192, &got);
	printf("8192 subscriptions: %d, %u events\n", e, got);
	printf("8193 subscriptions: %d\n", __wasi_poll_oneoff(subs, ev, 8193, &got));
	printf("89 million subscriptions: %d\n", __wasi_poll_oneoff(subs, ev, 89000000, &got));
	return 0;
}
