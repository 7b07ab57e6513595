/* register NAME [wait]: registers NAME as a service speaking contract Svc,
   prints "registered NAME", then, with "wait", waits for connections
   forever (an isle node's test kills it); without, it exits, which
   unregisters the name. */
#include <stdio.h>
#include <string.h>
#include "isle.h"

static const char contract_src[] = "contract Svc { msg Ping initial final state S { imp Ping -> S } }";

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: register NAME [wait]\n");
		return 2;
	}
	isle_handle l;
	int err = isle_register(argv[1], strlen(argv[1]), contract_src, sizeof contract_src - 1, "Svc", 3, &l);
	if (err) {
		fprintf(stderr, "register %s: %s\n", argv[1], isle_strerror(err));
		return 1;
	}
	printf("registered %s\n", argv[1]);
	fflush(stdout);
	if (argc > 2 && strcmp(argv[2], "wait") == 0) {
		for (;;) {
			isle_handle ep;
			if (isle_accept(l, &ep)) return 1;
		}
	}
	return 0;
}
