/*
 * queue-endpoints: makes channels and sends one end of each, as an endpoint
 * field, to an endpoint of its own that it never reads, closing the other
 * end, and opens a new carrier channel whenever a send is refused. Before
 * queued messages were charged, an endpoint in a queued message left its
 * sender's handle quota, and 2.2 million channels were queued this way.
 *
 * isle must charge a queued endpoint to its sender until it is received:
 * the SIP ends with "quota exceeded" after at most its handle quota (1024)
 * of endpoints queued.
 *
 * argv[1]: how many channels to try (default 10000000). Prints "queued N
 * endpoints on C carriers, then quota exceeded", then waits for stdin to
 * close (holding what it queued) and exits 0; exits 1 on any other error, 2
 * if every channel went without one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "isle.h"

static const char src[] =
	"contract Inner {\n msg X()\n initial final state S { imp X -> S }\n}\n"
	"contract Carrier {\n msg E(ep exp<Inner>)\n initial final state S { imp E -> S }\n}\n";

int main(int argc, char **argv) {
	long tries = argc > 1 ? atol(argv[1]) : 10000000;
	isle_handle cimp, cexp, i, e;
	long n = 0, carriers = 0, on = 0;
	int err = 0;
	while (n < tries) {
		if (carriers == 0 || err) {
			if (err && on == 0)
				break; /* refused on a fresh carrier: the SIP's quota */
			if ((err = isle_channel_create(src, sizeof src - 1, "Carrier", 7, &cimp, &cexp)))
				break;
			carriers++;
			on = 0;
		}
		if ((err = isle_channel_create(src, sizeof src - 1, "Inner", 5, &i, &e)))
			break;
		uint8_t payload[4];
		isle_put_u32(payload, e);
		if ((err = isle_send(cimp, 0, payload, sizeof payload, 0, 0))) {
			isle_close(i);
			isle_close(e);
			if (err != 6)
				break;
			continue;
		}
		isle_close(i);
		n++;
		on++;
	}
	if (!err) {
		printf("queued %ld endpoints on %ld carriers, no error\n", n, carriers);
		return 2;
	}
	printf("queued %ld endpoints on %ld carriers, then %s\n", n, carriers, isle_strerror(err));
	fflush(stdout);
	if (err != 6)
		return 1;
	while (getchar() != EOF) {
	}
	return 0;
}
