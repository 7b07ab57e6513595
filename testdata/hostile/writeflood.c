// writeflood: writes a file in /tmp as fast as it can for a second, 64 KiB
// a write, all over its first 64 MiB, so that its writes go behind (posted
// to the file-system worker without waiting: docs/wasi.md, "Writes
// behind") and keep its worker busy; then, with writes still in flight,
// returns from main without closing the file or calling fsync.
//
// What isle must do: hold the flood to its own write-behind buffer (1 MiB
// in flight, then each write waits for the worker), so that an honest SIP
// on the same worker still has its file calls served (its calls wait only
// behind what its own writes posted); apply the writes in order, each
// whole, before the SIP's end is reported; and close the file at its end.
// isle-test: stdout writeflood: every page whole
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 << 10)
#define SPAN 1024 /* chunks: 64 MiB */

static char buf[CHUNK], got[CHUNK];

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
	int fd = open("/tmp/writeflood", O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	/* Every chunk gets the number of the pass that wrote it last. */
	long n = 0;
	double end = now() + 1.0;
	while (now() < end) {
		memset(buf, 'a' + (n / SPAN) % 26, CHUNK);
		if (pwrite(fd, buf, CHUNK, (n % SPAN) * (off_t)CHUNK) != CHUNK) {
			perror("pwrite");
			return 1;
		}
		n++;
	}
	/* Read every chunk back: each is whole, one pass's bytes. */
	long chunks = n < SPAN ? n : SPAN;
	for (long i = 0; i < chunks; i++) {
		if (pread(fd, got, CHUNK, i * (off_t)CHUNK) != CHUNK) {
			perror("pread");
			return 1;
		}
		for (int k = 1; k < CHUNK; k++)
			if (got[k] != got[0]) {
				printf("writeflood: chunk %ld torn at %d\n", i, k);
				return 1;
			}
	}
	printf("writeflood: every page whole\n");
	/* More writes behind, then the end without close or fsync. */
	memset(buf, 'Z', CHUNK);
	for (int i = 0; i < 64; i++)
		pwrite(fd, buf, CHUNK, (off_t)i * CHUNK);
	return 0;
}
