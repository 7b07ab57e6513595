/*
 * examples/pingpong server: registers "pingpong" and answers every Ping
 * with a Pong of the same sequence number and payload, for as many clients
 * as argv[1] says (default 1), one after another, then exits.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pingpong.h"

static uint8_t buf[1 << 16];

int main(int argc, char **argv) {
	int clients = argc > 1 ? atoi(argv[1]) : 1;
	const char *name = argc > 2 ? argv[2] : "pingpong";
	isle_handle listener;
	int err = PingPong_register(name, &listener);
	if (err) {
		fprintf(stderr, "pingpong server: register: %s\n", isle_strerror(err));
		return 1;
	}
	long pings = 0;
	for (int c = 0; c < clients; c++) {
		PingPong_exp client;
		if ((err = PingPong_accept(listener, &client))) {
			fprintf(stderr, "pingpong server: accept: %s\n", isle_strerror(err));
			return 1;
		}
		for (;;) {
			PingPong_msg m;
			if ((err = PingPong_exp_recv(client, &m, buf, sizeof buf))) {
				fprintf(stderr, "pingpong server: recv: %s\n", isle_strerror(err));
				return 1;
			}
			if (m.id != PingPong_Ping_ID) /* Quit, or the client went away */
				break;
			pings++;
			if ((err = PingPong_exp_send_Pong(client, m.u.Ping.seq, m.u.Ping.payload))) {
				fprintf(stderr, "pingpong server: send: %s\n", isle_strerror(err));
				return 1;
			}
		}
		PingPong_exp_close(client);
	}
	isle_close(listener);
	printf("server: %ld pings from %d clients\n", pings, clients);
	return 0;
}
