/*
 * greet-server: the server of the root package's channel example
 * (example_test.go). It registers "greeter" (contract PingPong,
 * examples/contracts/pingpong.contract), accepts one client, prints each
 * Ping it receives and answers it with a Pong of the same sequence number,
 * until the client sends Quit or goes away.
 *
 *	clang --target=wasm32-wasi -O2 -Wl,--strip-all -I guest/c -I examples/pingpong/c \
 *	    -o testdata/example/greet-server.wasm testdata/example/greet-server.c
 */
#include <stdio.h>

#include "pingpong.h"

static uint8_t buf[4096];

int main(void) {
	isle_handle listener;
	PingPong_exp client;
	int err = PingPong_register("greeter", &listener);
	if (!err)
		err = PingPong_accept(listener, &client);
	if (err) {
		fprintf(stderr, "greet-server: %s\n", isle_strerror(err));
		return 1;
	}
	for (;;) {
		PingPong_msg m;
		if ((err = PingPong_exp_recv(client, &m, buf, sizeof buf))) {
			fprintf(stderr, "greet-server: recv: %s\n", isle_strerror(err));
			return 1;
		}
		if (m.id != PingPong_Ping_ID) /* Quit, or the client went away */
			break;
		printf("server: Ping %llu: %.*s\n", (unsigned long long)m.u.Ping.seq,
		       (int)m.u.Ping.payload.len, (const char *)m.u.Ping.payload.ptr);
		fflush(stdout);
		if ((err = PingPong_exp_send_Pong(client, m.u.Ping.seq, isle_b("hello, client", 13)))) {
			fprintf(stderr, "greet-server: send: %s\n", isle_strerror(err));
			return 1;
		}
	}
	PingPong_exp_close(client);
	isle_close(listener);
	return 0;
}
