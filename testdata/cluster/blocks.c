/*
 * Exchange-heap blocks across nodes. "blocks server" registers "blocks" and
 * serves one client: each Data(n) comes with one block of n bytes, which it
 * checks (byte i is i % 251), adds 1 to every byte of, and sends back with
 * Back(n). "blocks client" looks "blocks" up, sends blocks of 1, 4096 and
 * 1 MiB bytes, checks each comes back changed, that the handle it sent is
 * dead (the block moved), and prints "client: 3 blocks moved".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isle.h"

static const char src[] =
	"contract Blocks {\n"
	"  msg Data(n u32)\n"
	"  msg Back(n u32)\n"
	"  initial final state Idle { imp Data -> Busy }\n"
	"  state Busy { exp Back -> Idle }\n"
	"}\n";
static uint8_t data[1 << 20];

static int fail(const char *what, int err) {
	fprintf(stderr, "blocks: %s: %s\n", what, isle_strerror(err));
	return 1;
}

static int server(void) {
	isle_handle l, c;
	int err;
	if ((err = isle_register("blocks", 6, src, sizeof src - 1, "Blocks", 6, &l))) return fail("register", err);
	if ((err = isle_accept(l, &c))) return fail("accept", err);
	for (;;) {
		uint8_t buf[4];
		isle_recv_info info;
		if ((err = isle_recv(c, buf, sizeof buf, &info, 0))) return fail("recv", err);
		if (info.msg == ISLE_MSG_CLOSED) return 0;
		uint32_t n, size;
		memcpy(&n, buf, 4);
		if (info.nblocks != 1 || isle_block_size(info.blocks[0], &size) || size != n) {
			fprintf(stderr, "blocks server: Data(%u) came with %u blocks\n", n, info.nblocks);
			return 1;
		}
		if ((err = isle_block_read(info.blocks[0], 0, data, n))) return fail("block_read", err);
		for (uint32_t i = 0; i < n; i++) {
			if (data[i] != (uint8_t)(i % 251)) {
				fprintf(stderr, "blocks server: byte %u of %u is %u\n", i, n, data[i]);
				return 1;
			}
			data[i]++;
		}
		if ((err = isle_block_write(info.blocks[0], 0, data, n))) return fail("block_write", err);
		if ((err = isle_send(c, 1, buf, 4, &info.blocks[0], 1))) return fail("send Back", err);
	}
}

static int client(void) {
	isle_handle s;
	int err;
	for (int tries = 0; (err = isle_lookup("blocks", 6, src, sizeof src - 1, "Blocks", 6, &s)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	if (err) return fail("lookup", err);
	const uint32_t sizes[] = {1, 4096, 1 << 20};
	for (int k = 0; k < 3; k++) {
		uint32_t n = sizes[k], size;
		isle_handle b;
		if ((err = isle_block_alloc(n, &b))) return fail("block_alloc", err);
		for (uint32_t i = 0; i < n; i++) data[i] = (uint8_t)(i % 251);
		if ((err = isle_block_write(b, 0, data, n))) return fail("block_write", err);
		if ((err = isle_send(s, 0, &n, 4, &b, 1))) return fail("send Data", err);
		if (isle_block_size(b, &size) != ISLE_EBADHANDLE) {
			fprintf(stderr, "blocks client: the block sent is still ours\n");
			return 1;
		}
		uint8_t buf[4];
		isle_recv_info info;
		if ((err = isle_recv(s, buf, sizeof buf, &info, 0))) return fail("recv", err);
		if (info.msg != 1 || info.nblocks != 1 || isle_block_size(info.blocks[0], &size) || size != n) {
			fprintf(stderr, "blocks client: answer %u with %u blocks\n", info.msg, info.nblocks);
			return 1;
		}
		if ((err = isle_block_read(info.blocks[0], 0, data, n))) return fail("block_read", err);
		for (uint32_t i = 0; i < n; i++) {
			if (data[i] != (uint8_t)(i % 251 + 1)) {
				fprintf(stderr, "blocks client: byte %u of %u came back %u\n", i, n, data[i]);
				return 1;
			}
		}
		isle_close(info.blocks[0]);
	}
	isle_close(s);
	printf("client: 3 blocks moved\n");
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "server") == 0) return server();
	return client();
}
