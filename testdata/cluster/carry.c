/*
 * An endpoint sent on a channel that crosses nodes, which isle does not carry
 * yet: the gateway must close the channel, and the endpoint with it, rather
 * than forward a handle number. "carry server" registers "carry", accepts one
 * client and expects Closed; "carry client" looks "carry" up, sends the
 * exporter's end of a fresh Inner channel in a Give, and expects Closed both
 * on the channel and on the Inner end it kept (its peer, sent away, was
 * closed); each prints "closed" and exits 0.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "isle.h"

static const char src[] =
	"contract Inner {\n"
	"  msg Hi\n"
	"  initial final state S { imp Hi -> S }\n"
	"}\n"
	"contract Carry {\n"
	"  msg Give(e exp<Inner>)\n"
	"  initial final state Open { imp Give -> Open }\n"
	"}\n";

static int fail(const char *what, int err) {
	fprintf(stderr, "carry: %s: %s\n", what, isle_strerror(err));
	return 1;
}

static int expect_closed(const char *who, isle_handle h) {
	uint8_t buf[8];
	isle_recv_info info;
	int err = isle_recv(h, buf, sizeof buf, &info, 0);
	if (err) return fail("recv", err);
	if (info.msg != ISLE_MSG_CLOSED) {
		fprintf(stderr, "carry %s: got message %u, not Closed\n", who, info.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	isle_handle l, c, s, imp, exp;
	int err;
	if (argc > 1 && strcmp(argv[1], "server") == 0) {
		if ((err = isle_register("carry", 5, src, sizeof src - 1, "Carry", 5, &l))) return fail("register", err);
		if ((err = isle_accept(l, &c))) return fail("accept", err);
		if (expect_closed("server", c)) return 1;
		printf("server: closed\n");
		return 0;
	}
	for (int tries = 0; (err = isle_lookup("carry", 5, src, sizeof src - 1, "Carry", 5, &s)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	if (err) return fail("lookup", err);
	if ((err = isle_channel_create(src, sizeof src - 1, "Inner", 5, &imp, &exp))) return fail("channel_create", err);
	if ((err = isle_send(s, 0, &exp, 4, 0, 0))) return fail("send Give", err);
	if (expect_closed("client", s) || expect_closed("client's Inner", imp)) return 1;
	printf("client: closed\n");
	return 0;
}
