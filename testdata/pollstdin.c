// pollstdin waits for stdin with poll(2): first for 50 ms, with no input
// yet ("timeout"), then without a limit until a line comes, which it reads
// and prints, then until the end of input. With an argument ("net") it
// polls the listener at fd 3 beside stdin each time (no client comes).
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
	(void)argv;
	struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = 3, .events = POLLIN}};
	nfds_t nfds = argc > 1 ? 2 : 1;
	int n = poll(p, nfds, 50);
	if (n == 0) {
		printf("timeout\n");
	} else {
		printf("early: %d revents %#x %#x\n", n, p[0].revents, p[1].revents);
	}
	fflush(stdout);
	p[0].revents = p[1].revents = 0;
	n = poll(p, nfds, -1);
	printf("poll: %d in %d\n", n, (p[0].revents & POLLIN) != 0);
	char buf[64];
	ssize_t k = read(0, buf, sizeof buf);
	printf("read: %.*s", (int)(k > 0 ? k : 0), buf);
	p[0].revents = p[1].revents = 0;
	n = poll(p, nfds, 10000);
	k = read(0, buf, sizeof buf);
	printf("end: poll %d read %zd\n", n, k);
	return 0;
}
