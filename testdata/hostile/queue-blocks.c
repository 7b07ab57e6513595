/*
 * queue-blocks: allocates 16 MiB exchange-heap blocks and sends each to its
 * own channel's other end, which it never reads. Before queued messages were
 * charged, a block left its sender's heap quota when it was sent, so this
 * SIP allocated without limit until the host killed isle (2.9 GB).
 *
 * isle must keep a queued block charged to its sender until it is received:
 * block_alloc (or send) fails with "quota exceeded" after a few blocks
 * (64 MiB of heap per SIP).
 *
 * argv[1]: how many blocks to try (default 1000). Prints "queued N blocks,
 * then quota exceeded", then waits for stdin to close (holding what it
 * queued, so a test can measure the machine meanwhile) and exits 0; exits 1
 * on any other error, 2 if every block went without one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "isle.h"

static const char src[] = "contract Sink {\n msg B()\n initial final state S { imp B -> S }\n}\n";

int main(int argc, char **argv) {
	long tries = argc > 1 ? atol(argv[1]) : 1000;
	isle_handle imp, exp, b;
	int err = isle_channel_create(src, sizeof src - 1, "Sink", 4, &imp, &exp);
	if (err) {
		fprintf(stderr, "queue-blocks: channel_create: %s\n", isle_strerror(err));
		return 1;
	}
	long n;
	for (n = 0; n < tries; n++) {
		if ((err = isle_block_alloc(16 << 20, &b)) || (err = isle_send(imp, 0, 0, 0, &b, 1)))
			break;
	}
	if (!err) {
		printf("queued %ld blocks, no error\n", n);
		return 2;
	}
	printf("queued %ld blocks, then %s\n", n, isle_strerror(err));
	fflush(stdout);
	if (err != 6)
		return 1;
	while (getchar() != EOF) {
	}
	return 0;
}
