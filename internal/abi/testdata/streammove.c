/*
 * streammove: "recv N" registers "stream", accepts one sender and takes N
 * items, moving to another core (isle's move call) every 200 items, and
 * checks that they arrive in order; "send N" looks the service up and sends
 * items 0..N-1 as fast as it can, some inline and some as packets (a
 * padding of 0 to 99 bytes), backing off when the queue is full (quota
 * exceeded). The receiver prints "received N items in order, moved M
 * times".
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isle.h"

__attribute__((import_module("isle"), import_name("move"))) int isle_move(uint32_t core);

static const char src[] = "contract Stream {\n msg Item(n u64, pad bytes)\n initial final state S { imp Item -> S }\n}\n";
static uint8_t buf[256];

static int recv_side(long n) {
	isle_handle l, ep;
	int err = isle_register("stream", 6, src, sizeof src - 1, "Stream", 6, &l);
	if (err || (err = isle_accept(l, &ep))) {
		fprintf(stderr, "streammove: register/accept: %s\n", isle_strerror(err));
		return 1;
	}
	long moves = 0;
	for (long i = 0; i < n; i++) {
		isle_recv_info info;
		if ((err = isle_recv(ep, buf, sizeof buf, &info, 0))) {
			fprintf(stderr, "streammove: recv %ld: %s\n", i, isle_strerror(err));
			return 1;
		}
		const uint8_t *p = buf;
		uint64_t got = isle_get_u64(&p);
		if (info.msg != 0 || got != (uint64_t)i) {
			fprintf(stderr, "streammove: item %ld is message %u number %llu\n", i, info.msg, (unsigned long long)got);
			return 1;
		}
		if (i % 200 == 199) {
			if ((err = isle_move((uint32_t)((i / 200 + 1) % 3)))) {
				fprintf(stderr, "streammove: move: %s\n", isle_strerror(err));
				return 1;
			}
			moves++;
		}
	}
	printf("received %ld items in order, moved %ld times\n", n, moves);
	return 0;
}

static int send_side(long n) {
	isle_handle ep;
	int err;
	for (int tries = 0; (err = isle_lookup("stream", 6, src, sizeof src - 1, "Stream", 6, &ep)) == ISLE_ENONAME && tries < 100000; tries++)
		sched_yield();
	if (err) {
		fprintf(stderr, "streammove: lookup: %s\n", isle_strerror(err));
		return 1;
	}
	uint8_t msg[8 + 4 + 100], pad[100];
	memset(pad, 'p', sizeof pad);
	for (long i = 0; i < n; i++) {
		uint8_t *p = isle_put_u64(msg, (uint64_t)i);
		p = isle_put_mem(p, pad, (uint32_t)(i * 7 % 100));
		while ((err = isle_send(ep, 0, msg, (uint32_t)(p - msg), 0, 0)) == 6)
			sched_yield(); /* the queue is full: let the receiver catch up */
		if (err) {
			fprintf(stderr, "streammove: send %ld: %s\n", i, isle_strerror(err));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 3)
		return 2;
	long n = atol(argv[2]);
	return strcmp(argv[1], "recv") == 0 ? recv_side(n) : send_side(n);
}
