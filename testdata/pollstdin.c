// pollstdin waits for stdin with poll(2): first for 50 ms, with no input
// yet ("timeout"), then without a limit until a line comes, which it reads
// and prints, then until the end of input.
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	struct pollfd p = {.fd = 0, .events = POLLIN};
	int n = poll(&p, 1, 50);
	if (n == 0) {
		printf("timeout\n");
	} else {
		printf("early: %d revents %#x\n", n, p.revents);
	}
	fflush(stdout);
	p.revents = 0;
	n = poll(&p, 1, -1);
	printf("poll: %d in %d\n", n, (p.revents & POLLIN) != 0);
	char buf[64];
	ssize_t k = read(0, buf, sizeof buf);
	printf("read: %.*s", (int)(k > 0 ? k : 0), buf);
	p.revents = 0;
	n = poll(&p, 1, 10000);
	k = read(0, buf, sizeof buf);
	printf("end: poll %d read %zd\n", n, k);
	return 0;
}
