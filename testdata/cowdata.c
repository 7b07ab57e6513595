// cowdata: a program with 1 MiB of initialized data (a table of 262,144
// words, word i holding (i+1)*2654435761), for the tests of copy-on-write
// memory images. It checks that its table is what it was compiled with,
// then:
//   - with argv[1] a number v > 0: writes v over the whole table, yields 20
//     times (so other instances of it run and write theirs), and checks that
//     its table still holds v everywhere;
//   - with argv[1] "hold": prints "ready" and blocks for ever in a receive on
//     a channel of its own, reading nothing more (a test measures the
//     machine meanwhile, then stops it).
// Exits 0 if everything held, 1 if the initial table was wrong, 2 if another
// instance's writes showed in its table, 3 on an error.
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isle.h"

#define K 2654435761u
#define X1(n) ((n) + 1u) * K
#define X4(n) X1(n), X1((n) + 1), X1((n) + 2), X1((n) + 3)
#define X16(n) X4(n), X4((n) + 4), X4((n) + 8), X4((n) + 12)
#define X64(n) X16(n), X16((n) + 16), X16((n) + 32), X16((n) + 48)
#define X256(n) X64(n), X64((n) + 64), X64((n) + 128), X64((n) + 192)
#define X1K(n) X256(n), X256((n) + 256), X256((n) + 512), X256((n) + 768)
#define X4K(n) X1K(n), X1K((n) + 1024), X1K((n) + 2048), X1K((n) + 3072)
#define X16K(n) X4K(n), X4K((n) + 4096), X4K((n) + 8192), X4K((n) + 12288)
#define X64K(n) X16K(n), X16K((n) + 16384), X16K((n) + 32768), X16K((n) + 49152)
#define X256K(n) X64K(n), X64K((n) + 65536), X64K((n) + 131072), X64K((n) + 196608)
#define N 262144

static volatile unsigned table[N] = {X256K(0u)};

static const char src[] = "contract Idle {\n msg M()\n initial final state S { imp M -> S }\n}\n";

int main(int argc, char **argv) {
	if (argc < 2)
		return 3;
	for (unsigned i = 0; i < N; i++)
		if (table[i] != (i + 1u) * K)
			return 1;
	if (strcmp(argv[1], "hold") == 0) {
		isle_handle imp, exp;
		if (isle_channel_create(src, sizeof src - 1, "Idle", 4, &imp, &exp))
			return 3;
		printf("ready\n");
		fflush(stdout);
		unsigned char buf[8];
		isle_recv_info info;
		isle_recv(exp, buf, sizeof buf, &info, 0);
		return 3; // nobody sends
	}
	unsigned v = (unsigned)atoi(argv[1]);
	for (unsigned i = 0; i < N; i++)
		table[i] = v;
	for (int k = 0; k < 20; k++) {
		sched_yield();
		for (unsigned i = 0; i < N; i++)
			if (table[i] != v)
				return 2;
	}
	return 0;
}
