/*
 * An endpoint carried across nodes. "carry client" (on one node) looks up
 * "carry" (served on another), makes an Inner channel, sends its exporter's
 * end in a Give, then sends three His on the importer's end it kept and
 * closes it. "carry server" accepts, receives the Give, and on the endpoint
 * it carried receives the three His and then Closed (the client's close,
 * across both gateways). Each checks what it gets and exits 0.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "isle.h"

static const char src[] =
	"contract Inner {\n"
	"  msg Hi(n u32)\n"
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

static int server(void) {
	isle_handle l, c, e;
	uint8_t buf[8];
	isle_recv_info info;
	int err;
	if ((err = isle_register("carry", 5, src, sizeof src - 1, "Carry", 5, &l))) return fail("register", err);
	if ((err = isle_accept(l, &c))) return fail("accept", err);
	if ((err = isle_recv(c, buf, sizeof buf, &info, 0))) return fail("recv Give", err);
	if (info.msg != 0 || info.len != 4) {
		fprintf(stderr, "carry server: got message %u, not Give\n", info.msg);
		return 1;
	}
	memcpy(&e, buf, 4);
	for (uint32_t i = 0; i < 3; i++) {
		if ((err = isle_recv(e, buf, sizeof buf, &info, 0))) return fail("recv Hi", err);
		uint32_t n;
		memcpy(&n, buf, 4);
		if (info.msg != 0 || n != i) {
			fprintf(stderr, "carry server: Hi %u: got message %u (%u)\n", i, info.msg, n);
			return 1;
		}
	}
	if ((err = isle_recv(e, buf, sizeof buf, &info, 0))) return fail("recv Closed", err);
	if (info.msg != ISLE_MSG_CLOSED) {
		fprintf(stderr, "carry server: got message %u, not Closed\n", info.msg);
		return 1;
	}
	printf("server: 3 His and Closed on a carried endpoint\n");
	return 0;
}

static int client(void) {
	isle_handle s, imp, exp;
	int err;
	for (int tries = 0; (err = isle_lookup("carry", 5, src, sizeof src - 1, "Carry", 5, &s)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	if (err) return fail("lookup", err);
	if ((err = isle_channel_create(src, sizeof src - 1, "Inner", 5, &imp, &exp))) return fail("channel_create", err);
	if ((err = isle_send(s, 0, &exp, 4, 0, 0))) return fail("send Give", err);
	uint32_t size;
	if (isle_block_size(exp, &size) != ISLE_EBADHANDLE) {
		fprintf(stderr, "carry client: the endpoint sent is still ours\n");
		return 1;
	}
	for (uint32_t i = 0; i < 3; i++) {
		if ((err = isle_send(imp, 0, &i, 4, 0, 0))) return fail("send Hi", err);
	}
	isle_close(imp);
	uint8_t buf[8];
	isle_recv_info info;
	if ((err = isle_recv(s, buf, sizeof buf, &info, 0))) return fail("recv", err);
	if (info.msg != ISLE_MSG_CLOSED) {
		fprintf(stderr, "carry client: got message %u, not Closed\n", info.msg);
		return 1;
	}
	printf("client: done\n");
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "server") == 0) return server();
	return client();
}
