/*
 * greet-client: the client of the root package's channel example
 * (example_test.go). It looks up "greeter", sends one Ping carrying
 * argv[1], prints the Pong it gets back and sends Quit.
 *
 *	clang --target=wasm32-wasi -O2 -Wl,--strip-all -I guest/c -I examples/pingpong/c \
 *	    -o testdata/example/greet-client.wasm testdata/example/greet-client.c
 */
#include <stdio.h>
#include <string.h>

#include "pingpong.h"

static uint8_t buf[4096];

int main(int argc, char **argv) {
	const char *greeting = argc > 1 ? argv[1] : "hello";
	PingPong_imp srv;
	PingPong_msg m;
	int err = PingPong_lookup("greeter", &srv);
	if (!err)
		err = PingPong_imp_send_Ping(srv, 1, isle_b(greeting, (uint32_t)strlen(greeting)));
	if (!err)
		err = PingPong_imp_recv(srv, &m, buf, sizeof buf);
	if (!err && m.id != PingPong_Pong_ID)
		err = ISLE_ENOTALLOWED;
	if (err) {
		fprintf(stderr, "greet-client: %s\n", isle_strerror(err));
		return 1;
	}
	printf("client: Pong %llu: %.*s\n", (unsigned long long)m.u.Pong.seq,
	       (int)m.u.Pong.payload.len, (const char *)m.u.Pong.payload.ptr);
	PingPong_imp_send_Quit(srv);
	PingPong_imp_close(srv);
	return 0;
}
