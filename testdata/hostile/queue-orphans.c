/*
 * queue-orphans: fills a channel with 64 KiB payloads to an endpoint of its
 * own, sends the channel's sending end inside a message to a carrier, and
 * closes the carrier's receiving end, so the sending end is closed inside a
 * dropped message, charged to nobody; then starts again, keeping only the
 * receiving ends. Charging queued messages to their sender alone leaves
 * this open: each round queues another 128 payloads on nobody's account.
 *
 * isle must charge what such a sender had queued to whoever holds the
 * receiving end (here the attacker): after about its heap quota (64 MiB,
 * ~1,000 payloads), it gets "quota exceeded".
 *
 * argv[1]: how many payloads to try (default 1000000). Prints "queued N
 * payloads in R rounds, then quota exceeded", then waits for stdin to close
 * (holding what it queued) and exits 0; exits 1 on any other error, 2 if
 * every send went without one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isle.h"

static const char src[] =
	"contract Inner {\n msg P(data bytes)\n initial final state S { imp P -> S }\n}\n"
	"contract Carrier {\n msg E(ep imp<Inner>)\n initial final state S { imp E -> S }\n}\n";
static uint8_t msg[64 << 10];

int main(int argc, char **argv) {
	long tries = argc > 1 ? atol(argv[1]) : 1000000;
	uint32_t len = sizeof msg - 4;
	memcpy(msg, &len, 4);
	memset(msg + 4, 'x', len);
	long n = 0, rounds = 0;
	int err = 0;
	while (n < tries) {
		isle_handle ci, ce, ii, ie;
		if ((err = isle_channel_create(src, sizeof src - 1, "Carrier", 7, &ci, &ce)) ||
		    (err = isle_channel_create(src, sizeof src - 1, "Inner", 5, &ii, &ie)))
			break;
		long on = 0;
		while (n < tries && (err = isle_send(ii, 0, msg, sizeof msg, 0, 0)) == 0) {
			n++;
			on++;
		}
		if (err && err != 6)
			break;
		if (on == 0)
			break; /* refused on a fresh channel: the SIP's quota */
		uint8_t payload[4];
		isle_put_u32(payload, ii);
		if ((err = isle_send(ci, 0, payload, sizeof payload, 0, 0)))
			break;
		isle_close(ce); /* drops the message, and closes ii inside it */
		isle_close(ci);
		rounds++;
		err = 0;
	}
	if (!err) {
		printf("queued %ld payloads in %ld rounds, no error\n", n, rounds);
		return 2;
	}
	printf("queued %ld payloads in %ld rounds, then %s\n", n, rounds, isle_strerror(err));
	fflush(stdout);
	if (err != 6)
		return 1;
	while (getchar() != EOF) {
	}
	return 0;
}
