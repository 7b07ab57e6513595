/*
 * examples/pingpong client: looks up "pingpong", sends argv[1] Pings
 * (default 1000) with a payload of argv[2] bytes (default 0), checks every
 * Pong, sends Quit and prints the mean round trip, and the median over
 * batches of 16 rounds (a typical round trip, which the rare long stalls of a
 * shared machine do not move). With argv[4] "percentiles" it also prints the
 * percentiles 0 to 100 of the batches' round trips (isle bench ipc plots them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pingpong.h"

static uint8_t payload[1 << 16];
static uint8_t buf[1 << 16];

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

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
	enum { batch = 16 };
	long nb = rounds / batch;
	long long *bt = nb > 0 ? malloc(nb * sizeof *bt) : 0;
	if (nb > 0 && !bt) {
		fprintf(stderr, "pingpong client: out of memory\n");
		return 1;
	}
	long long start = now_ns(), b0 = start;
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
		if ((i + 1) % batch == 0 && (i + 1) / batch <= nb) {
			long long b1 = now_ns();
			bt[(i + 1) / batch - 1] = b1 - b0;
			b0 = b1;
		}
	}
	long long elapsed = now_ns() - start;
	PingPong_imp_send_Quit(srv);
	PingPong_imp_close(srv);
	printf("client: %ld rounds of %u bytes, %lld ns/round", rounds, size, rounds ? elapsed / rounds : 0);
	if (nb > 0) {
		qsort(bt, nb, sizeof *bt, cmp);
		printf(" (median of batches of %d: %lld ns/round)", batch, bt[nb / 2] / batch);
	}
	printf("\n");
	if (nb > 0 && argc > 4 && strcmp(argv[4], "percentiles") == 0) {
		printf("client: percentiles of batches of %d (ns/round):", batch);
		for (int k = 0; k <= 100; k++) printf(" %lld", bt[(nb - 1) * k / 100] / batch);
		printf("\n");
	}
	return 0;
}
