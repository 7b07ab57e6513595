// idle: prints "ready" and blocks for ever in a receive on a channel of its
// own, which nobody sends on: an idle SIP, for isle bench spawn's memory
// rows (the benchmark stops the machine to end it).
//
//	clang --target=wasm32-wasi -O2 -Iguest/c -Wl,--strip-all -o bench/testdata/idle.wasm bench/testdata/idle.c
#include <stdio.h>

#include "isle.h"

static const char src[] = "contract Idle {\n msg M()\n initial final state S { imp M -> S }\n}\n";

int main(void) {
	isle_handle imp, exp;
	if (isle_channel_create(src, sizeof src - 1, "Idle", 4, &imp, &exp))
		return 1;
	printf("ready\n");
	fflush(stdout);
	unsigned char buf[8];
	isle_recv_info info;
	isle_recv(exp, buf, sizeof buf, &info, 0);
	return 1;
}
