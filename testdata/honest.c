// honest is the SIP that the hostile suite (hostile_test.go) runs beside
// each attack in testdata/hostile/. It works in rounds until the file
// /tmp/stop exists, and each round touches every service an attack might
// exhaust: it computes (a hash over a buffer), writes a file and reads it
// back through the file-system service, reads the clock, and every 16th
// round spawns /bin/true.wasm and waits for it (the loader service and the
// process API). After each round it publishes its count in /tmp/rounds
// (written beside and renamed over, so a reader on the host never sees half
// a file). It prints one line at the end: how many rounds it did, or the
// first thing that failed (and exits 1).
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isle_proc.h"

static unsigned char buf[4096];

static int fail(const char *what, int err) {
	printf("honest: FAIL %s: %s\n", what, strerror(err));
	return 1;
}

int main(void) {
	unsigned long rounds = 0, h = 5381;
	for (;;) {
		if (access("/tmp/stop", F_OK) == 0)
			break;
		for (int k = 0; k < 64; k++)
			for (size_t i = 0; i < sizeof buf; i++)
				h = h * 33 + (buf[i] ^ (unsigned char)k);
		memset(buf, (int)(h & 0xff), sizeof buf);
		FILE *f = fopen("/tmp/honest.dat", "w");
		if (!f)
			return fail("open for writing", errno);
		if (fwrite(buf, 1, sizeof buf, f) != sizeof buf)
			return fail("write", errno);
		if (fclose(f))
			return fail("close", errno);
		f = fopen("/tmp/honest.dat", "r");
		if (!f)
			return fail("open for reading", errno);
		unsigned char back[sizeof buf];
		size_t n = fread(back, 1, sizeof back, f);
		fclose(f);
		if (n != sizeof buf || memcmp(back, buf, n) != 0)
			return fail("read back", EIO);
		struct timespec ts;
		if (clock_gettime(CLOCK_MONOTONIC, &ts))
			return fail("clock_gettime", errno);
		if (rounds % 16 == 0) {
			uint32_t pid, st;
			uint64_t cpu;
			int err = isle_proc_spawn("/bin/true.wasm", 14, "true", 5, 0, &pid);
			if (err)
				return fail("spawn", err);
			if ((err = isle_proc_wait(pid, &st, &cpu)))
				return fail("wait", err);
			if (st != 0)
				return fail("child's status", EIO);
		}
		rounds++;
		f = fopen("/tmp/rounds.new", "w");
		if (!f)
			return fail("open the count", errno);
		fprintf(f, "%lu\n", rounds);
		if (fclose(f))
			return fail("write the count", errno);
		if (rename("/tmp/rounds.new", "/tmp/rounds"))
			return fail("rename the count", errno);
	}
	printf("honest: %lu rounds\n", rounds);
	return 0;
}
