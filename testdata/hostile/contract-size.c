// contract-size hands module isle a 59 KB contract source of 760 contracts in
// a ring, each carrying an endpoint of the next, which took 1.5-2.9 s of the
// core to compile per channel_create (every fingerprint normalised the whole
// ring again). isle must refuse a source past 16 KiB with "too big" at once,
// in channel_create and lookup, still compile a ring that fits, and refuse
// undefined recv flags with "invalid argument". One line per call; it exits.
// isle-test: status 0
// isle-test: stdout channel_create with it: too big
// isle-test: stdout lookup with it: too big
// isle-test: stdout channel_create with it: ok
// isle-test: stdout recv with NONBLOCK|2: invalid argument
// isle-test: stdout recv_any with NONBLOCK|2: invalid argument
#include <stdio.h>
#include <string.h>

#include "isle.h"

static char src[64 << 10];

// ring writes n contracts C0 ... Cn-1 into src and returns the length.
static int ring(int n) {
	int len = 0;
	for (int i = 0; i < n; i++)
		len += snprintf(src + len, sizeof src - len,
		                "contract C%d {\n  msg M(e exp<C%d>)\n  initial final state S { imp M -> S }\n}\n", i, (i + 1) % n);
	return len;
}

static void say(const char *what, int err) { printf("%s: %s\n", what, isle_strerror(err)); }

int main(void) {
	isle_handle imp, exp, h;
	int len = ring(760);
	printf("ring of 760: %d bytes\n", len);
	say("channel_create with it", isle_channel_create(src, len, "C0", 2, &imp, &exp));
	say("lookup with it", isle_lookup("nobody", 6, src, len, "C0", 2, &h));
	len = ring(200);
	printf("ring of 200: %d bytes\n", len);
	say("channel_create with it", isle_channel_create(src, len, "C0", 2, &imp, &exp));
	isle_recv_info info;
	say("recv with NONBLOCK|2", isle_recv(imp, 0, 0, &info, ISLE_NONBLOCK | 2));
	say("recv with NONBLOCK|1<<31", isle_recv(imp, 0, 0, &info, ISLE_NONBLOCK | 1u << 31));
	say("recv_any with NONBLOCK|2", isle_recv_any(&imp, 1, 0, 0, &info, ISLE_NONBLOCK | 2));
	say("recv NONBLOCK", isle_recv(imp, 0, 0, &info, ISLE_NONBLOCK));
	return 0;
}
