/*
 * examples/pingpong client: looks up "pingpong", sends argv[1] Pings
 * (default 1000) with a payload of argv[2] bytes (default 0), checks every
 * Pong, sends Quit and prints the mean round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pingpong.h"

static uint8_t payload[1 << 16];
static uint8_t buf[1 << 16];

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long rounds = argc > 1 ? atol(argv[1]) : 1000;
	uint32_t size = argc > 2 ? (uint32_t)atol(argv[2]) : 0;
	const char *name = argc > 3 ? argv[3] : "pingpong";
	if (size > sizeof payload) size = sizeof payload;
	for (uint32_t i = 0; i < size; i++) payload[i] = (uint8_t)i;
	PingPong_imp srv;
	int err;
	/* The server may not have registered yet. */
	for (int tries = 0; (err = PingPong_lookup(name, &srv)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	if (err) {
		fprintf(stderr, "pingpong client: lookup: %s\n", isle_strerror(err));
		return 1;
	}
	long long start = now_ns();
	for (long i = 0; i < rounds; i++) {
		if ((err = PingPong_imp_send_Ping(srv, (uint64_t)i, isle_b(payload, size)))) {
			fprintf(stderr, "pingpong client: send: %s\n", isle_strerror(err));
			return 1;
		}
		PingPong_msg m;
		if ((err = PingPong_imp_recv(srv, &m, buf, sizeof buf))) {
			fprintf(stderr, "pingpong client: recv: %s\n", isle_strerror(err));
			return 1;
		}
		if (m.id != PingPong_Pong_ID || m.u.Pong.seq != (uint64_t)i || m.u.Pong.payload.len != size) {
			fprintf(stderr, "pingpong client: round %ld: bad answer (message %u)\n", i, m.id);
			return 1;
		}
	}
	long long elapsed = now_ns() - start;
	PingPong_imp_send_Quit(srv);
	PingPong_imp_close(srv);
	printf("client: %ld rounds of %u bytes, %lld ns/round\n", rounds, size, rounds ? elapsed / rounds : 0);
	return 0;
}
