/*
 * queue-payloads: sends messages with 64 KiB payloads to an endpoint of its
 * own that it never reads, opening a new channel whenever a send is
 * refused. Before queued messages were charged, 30,000 sends took 3 s and
 * the SIP grew until the host's out-of-memory killer took the machine.
 *
 * isle must charge a queued payload to its sender until it is received: a
 * channel's queue is bounded, the payloads count against the SIP's heap
 * quota (64 MiB), and the SIP ends with "quota exceeded" after about a
 * thousand sends in all.
 *
 * argv[1]: how many sends to try (default 1000000). Prints "queued N
 * payloads on C channels, then quota exceeded", then waits for stdin to
 * close (holding what it queued) and exits 0; exits 1 on any other error, 2
 * if every send went without one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isle.h"

static const char src[] = "contract Sink {\n msg P(data bytes)\n initial final state S { imp P -> S }\n}\n";
static uint8_t msg[64 << 10];

int main(int argc, char **argv) {
	long tries = argc > 1 ? atol(argv[1]) : 1000000;
	uint32_t len = sizeof msg - 4;
	memcpy(msg, &len, 4);
	memset(msg + 4, 'x', len);
	isle_handle imp, exp;
	long n = 0, channels = 0, on = 0; /* sends in all, channels, sends on this one */
	int err = 0;
	while (n < tries) {
		if (channels == 0 || err) {
			if (err && on == 0)
				break; /* refused on a fresh channel: the SIP's quota */
			if ((err = isle_channel_create(src, sizeof src - 1, "Sink", 4, &imp, &exp)))
				break;
			channels++;
			on = 0;
		}
		if ((err = isle_send(imp, 0, msg, sizeof msg, 0, 0))) {
			if (err != 6)
				break;
			continue;
		}
		n++;
		on++;
	}
	if (!err) {
		printf("queued %ld payloads on %ld channels, no error\n", n, channels);
		return 2;
	}
	printf("queued %ld payloads on %ld channels, then %s\n", n, channels, isle_strerror(err));
	fflush(stdout);
	if (err != 6)
		return 1;
	while (getchar() != EOF) {
	}
	return 0;
}
