/*
 * The quitter's client: one Ping, then it waits for the answer that never
 * comes; what it gets instead is the implicit Closed.
 */
#include <stdio.h>
#include <time.h>

#include "pingpong.h"

static uint8_t buf[256];

int main(void) {
	PingPong_imp s;
	int err;
	for (int tries = 0; (err = PingPong_lookup("quitter", &s)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	if (err) return 1;
	PingPong_msg m;
	if (PingPong_imp_send_Ping(s, 1, isle_b(0, 0)) || PingPong_imp_recv(s, &m, buf, sizeof buf)) return 2;
	printf("orphan: message %s, breach %d\n", m.id == ISLE_MSG_CLOSED ? "Closed" : "other", (m.flags & ISLE_FLAG_BREACH) != 0);
	/* The quitter's name went with it. */
	for (int tries = 0; (err = PingPong_lookup("quitter", &s)) == 0 && tries < 1000; tries++) {
		PingPong_imp_close(s);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	printf("orphan: lookup after the exit: %s\n", isle_strerror(err));
	return 0;
}
