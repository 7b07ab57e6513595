// killunder: a parent kills its child while the child's send has handed the
// core straight to the parent (the kernel's direct switch), that is, while
// the child's own host call is still under the parent's run.
//
// "killunder parent": registers "ku", spawns /bin/killunder.wasm as
// "killunder child", accepts it and receives. The child looks "ku" up and
// sends Hi; on one core that send runs the parent at once, inside it. The
// parent kills the child there, waits for it and prints "killed: status S"
// (137 expected). The child, if it ever returns from its send, prints
// "child: not killed" and exits 0.
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "isle.h"
#include "isle_proc.h"

static const char src[] = "contract KU {\n msg Hi\n initial final state S { imp Hi -> S }\n}\n";

static int child(void) {
	isle_handle ep;
	int e;
	for (int tries = 0; (e = isle_lookup("ku", 2, src, sizeof src - 1, "KU", 2, &ep)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	if (e) {
		printf("child: lookup: %s\n", isle_strerror(e));
		return 1;
	}
	e = isle_send(ep, 0, 0, 0, 0, 0);
	printf("child: not killed (send: %s)\n", isle_strerror(e));
	fflush(stdout);
	return 0;
}

static int parent(void) {
	isle_handle l, ep;
	int e = isle_register("ku", 2, src, sizeof src - 1, "KU", 2, &l);
	if (e) {
		printf("parent: register: %s\n", isle_strerror(e));
		return 1;
	}
	static const char args[] = "killunder\0child";
	uint32_t pid, status;
	uint64_t cpu;
	if ((e = isle_proc_spawn("/bin/killunder.wasm", 19, args, sizeof args, 0, &pid))) {
		printf("parent: spawn: errno %d\n", e);
		return 1;
	}
	if ((e = isle_accept(l, &ep))) {
		printf("parent: accept: %s\n", isle_strerror(e));
		return 1;
	}
	uint8_t buf[8];
	isle_recv_info info;
	if ((e = isle_recv(ep, buf, sizeof buf, &info, 0))) {
		printf("parent: recv: %s\n", isle_strerror(e));
		return 1;
	}
	if ((e = isle_proc_kill(pid)) || (e = isle_proc_wait(pid, &status, &cpu))) {
		printf("parent: kill or wait: errno %d\n", e);
		return 1;
	}
	printf("killed: status %u\n", status);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	return parent();
}
