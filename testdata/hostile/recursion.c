// recursion recurses without end. The SIP's stack is its own linear
// memory and wazero's call-depth limit, so it traps (exit 134) and nothing
// else notices.
// isle-test: status 134
#include <stdio.h>

static volatile int sink;

static int down(int n) {
	volatile char pad[256];
	pad[0] = (char)n;
	pad[1] = (char)down(n + 1); // used after the call: no tail call to turn into a loop
	sink += pad[0];
	return pad[0] + pad[1];
}

int main(void) {
	printf("recursing\n");
	fflush(stdout);
	return down(0);
}
