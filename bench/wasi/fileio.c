// fileio.c: the program of `isle bench wasi`, run the same way under isle and
// under wazero. Usage: fileio DIR MB N. It writes MB MiB to DIR/big in 64 KiB
// writes, reads it back in 64 KiB reads, then opens, reads (4 KiB) and
// closes DIR/small N times, timing each phase with CLOCK_MONOTONIC, and
// prints "write_ns T", "read_ns T" and "small_ns T" (T for all N).
// Built with: clang --target=wasm32-wasi -O2 -Wl,--strip-all -o fileio.wasm fileio.c
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char buf[64 << 10];

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: fileio DIR MB N\n");
		return 2;
	}
	char big[512], small[512];
	snprintf(big, sizeof big, "%s/big", argv[1]);
	snprintf(small, sizeof small, "%s/small", argv[1]);
	long mb = atol(argv[2]), n = atol(argv[3]);
	memset(buf, 'x', sizeof buf);

	long long t = now();
	int fd = open(big, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) { perror(big); return 1; }
	for (long i = 0; i < mb * 16; i++)
		if (write(fd, buf, sizeof buf) != sizeof buf) { perror("write"); return 1; }
	close(fd);
	printf("write_ns %lld\n", now() - t);

	t = now();
	fd = open(big, O_RDONLY);
	long long total = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0)
		total += r;
	close(fd);
	printf("read_ns %lld\n", now() - t);
	if (total != mb << 20) { fprintf(stderr, "read %lld bytes\n", total); return 1; }

	fd = open(small, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, buf, 4096);
	close(fd);
	t = now();
	for (long i = 0; i < n; i++) {
		fd = open(small, O_RDONLY);
		if (fd < 0 || read(fd, buf, 4096) != 4096) { perror(small); return 1; }
		close(fd);
	}
	printf("small_ns %lld\n", now() - t);
	unlink(big);
	unlink(small);
	return 0;
}
