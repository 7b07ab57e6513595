/*
 * A pingpong server that takes one Ping and exits without answering or
 * closing anything: its client must see Closed (with the breach flag, since
 * the channel was in a state that is not final) as soon as the kernel ends
 * the SIP, and the name must be gone.
 */
#include <stdio.h>

#include "pingpong.h"

static uint8_t buf[256];

int main(void) {
	isle_handle listener;
	PingPong_exp c;
	PingPong_msg m;
	if (PingPong_register("quitter", &listener) || PingPong_accept(listener, &c) || PingPong_exp_recv(c, &m, buf, sizeof buf))
		return 1;
	printf("quitter: got message %u, leaving\n", m.id);
	return 0;
}
