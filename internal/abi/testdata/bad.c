/*
 * Every bad input of the channel ABI, each printed with the error the
 * kernel answers, then one good round trip to the pingpong server to show
 * that the server was not disturbed. Run beside examples/pingpong's server
 * and an honest client (internal/abi's TestBadInput).
 */
#include <stdio.h>
#include <time.h>

#include "pingpong.h"

static const char box_src[] =
	"contract Box {\n"
	"  msg Put(e exp<Box>)\n"
	"  initial final state S { imp Put -> S }\n"
	"}\n";

static const char other_src[] =
	"contract PingPong {\n"
	"  msg Ping(seq u32)\n"
	"  initial final state S { imp Ping -> S }\n"
	"}\n";

static uint8_t buf[256];

static void say(const char *what, int err) { printf("%s: %s\n", what, isle_strerror(err)); }

int main(void) {
	PingPong_imp srv;
	int err;
	/* One write a line, so that the other SIPs' lines, which share the
	 * machine's stdout, never land inside one of ours (a full buffer is
	 * written when it fills, in the middle of a line). */
	setvbuf(stdout, 0, _IOLBF, 0);
	say("lookup of a name nobody registered", PingPong_lookup("nobody", &srv));
	isle_handle h;
	say("lookup with another contract", isle_lookup("pingpong", 8, other_src, sizeof other_src - 1, "PingPong", 8, &h));
	say("lookup with a contract that does not compile", isle_lookup("pingpong", 8, "contract {", 10, "PingPong", 8, &h));
	for (int tries = 0; (err = PingPong_lookup("pingpong", &srv)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	say("lookup", err);

	/* Messages the contract does not allow now, and bad fields. */
	say("importer sends Pong", isle_send(srv.h, PingPong_Pong_ID, buf, 12, 0, 0));
	say("message 99", isle_send(srv.h, 99, buf, 0, 0, 0));
	say("Ping cut short", isle_send(srv.h, PingPong_Ping_ID, buf, 3, 0, 0));
	uint8_t longlen[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
	say("Ping with a length past the end", isle_send(srv.h, PingPong_Ping_ID, longlen, sizeof longlen, 0, 0));
	say("Ping with trailing bytes", isle_send(srv.h, PingPong_Ping_ID, buf, 13, 0, 0));

	/* Handles: forged, stale, already sent. */
	say("send on a forged handle", isle_send(12345, PingPong_Ping_ID, buf, 12, 0, 0));
	PingPong_imp i;
	PingPong_exp e;
	say("new channel", PingPong_new(&i, &e));
	say("close its exporter's end", PingPong_exp_close(e));
	say("close it again (stale)", PingPong_exp_close(e));
	say("send on a closed channel", PingPong_imp_send_Ping(i, 1, isle_b(0, 0)));
	say("recv on a closed channel", PingPong_imp_recv(i, &(PingPong_msg){0}, buf, sizeof buf));
	PingPong_imp_close(i);
	isle_handle b1i, b1e, b2i, b2e;
	isle_channel_create(box_src, sizeof box_src - 1, "Box", 3, &b1i, &b1e);
	isle_channel_create(box_src, sizeof box_src - 1, "Box", 3, &b2i, &b2e);
	uint8_t put[4];
	memcpy(put, &b1i, 4);
	say("send an importer's end in an exp<Box> field", isle_send(b1i, 0, put, 4, 0, 0));
	memcpy(put, &b1e, 4);
	say("send a channel's end on itself", isle_send(b1i, 0, put, 4, 0, 0));
	memcpy(put, &b2e, 4);
	say("send an exporter's end", isle_send(b1i, 0, put, 4, 0, 0));
	say("send it again (already sent)", isle_send(b1i, 0, put, 4, 0, 0));
	say("close it (already sent)", isle_close(b2e));
	isle_recv_info info;
	say("receive it", isle_recv(b1e, buf, sizeof buf, &info, 0));
	isle_handle moved;
	memcpy(&moved, buf, 4);
	printf("it has a new handle: %s\n", moved != b2e ? "yes" : "no");
	say("nothing more to receive", isle_recv(b1e, buf, sizeof buf, &info, ISLE_NONBLOCK));
	say("recv into a buffer outside memory", isle_recv(srv.h, (void *)0xfffffff0u, 100, &info, ISLE_NONBLOCK));
	say("send from outside memory", isle_send(srv.h, PingPong_Ping_ID, (void *)0xfffffff0u, 100, 0, 0));
	isle_close(moved);
	isle_close(b1i);
	isle_close(b1e);
	isle_close(b2i);

	/* Quotas. */
	static isle_handle hs[2048];
	int n = 0;
	while (n < 2048 && (err = isle_channel_create(box_src, sizeof box_src - 1, "Box", 3, &hs[n], &hs[n + 1])) == 0)
		n += 2;
	printf("channels until the handle quota: %d handles, then %s\n", n, isle_strerror(err));
	for (int k = 0; k < n; k++) isle_close(hs[k]);
	int blocks = 0;
	while ((err = isle_block_alloc(16 << 20, &hs[blocks])) == 0) blocks++;
	printf("16 MiB blocks until the heap quota: %d, then %s\n", blocks, isle_strerror(err));
	for (int k = 0; k < blocks; k++) isle_block_free(hs[k]);
	say("a 1 GiB block", isle_block_alloc(1u << 30, &h));
	isle_handle blk;
	say("block_alloc", isle_block_alloc(4096, &blk));
	say("block_write", isle_block_write(blk, 4090, "hello", 5));
	say("block_write past the end", isle_block_write(blk, 4094, "hello", 5));
	char back[6] = {0};
	say("block_read", isle_block_read(blk, 4090, back, 5));
	printf("read back: %s\n", back);
	say("a block as an endpoint", isle_send(blk, 0, buf, 0, 0, 0));
	say("an endpoint as a block", isle_block_free(srv.h));
	isle_block_free(blk);

	/* The server is undisturbed. */
	PingPong_msg m;
	say("ping", PingPong_imp_send_Ping(srv, 7, isle_b("x", 1)));
	say("pong", PingPong_imp_recv(srv, &m, buf, sizeof buf));
	printf("pong seq %llu\n", (unsigned long long)m.u.Pong.seq);
	say("quit", PingPong_imp_send_Quit(srv));
	return 0;
}
