// pollstdin waits for stdin with poll(2): first for 50 ms, with no input
// yet ("timeout"), then without a limit until a line comes, which it reads
// and prints, then until the end of input. With "net" it polls the
// listener at fd 3 beside stdin each time (no client comes); with
// "nonblock" it sets O_NONBLOCK on stdin first and reads, which must say
// EAGAIN ("eagain").
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
	struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = 3, .events = POLLIN}};
	nfds_t nfds = argc > 1 && strcmp(argv[1], "net") == 0 ? 2 : 1;
	char buf[64];
	if (argc > 1 && strcmp(argv[1], "nonblock") == 0) {
		if (fcntl(0, F_SETFL, O_NONBLOCK) != 0) {
			perror("fcntl");
			return 1;
		}
		ssize_t k = read(0, buf, sizeof buf);
		printf("%s\n", k < 0 && errno == EAGAIN ? "eagain" : "no eagain");
	}
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
	ssize_t k = read(0, buf, sizeof buf);
	printf("read: %.*s", (int)(k > 0 ? k : 0), buf);
	p[0].revents = p[1].revents = 0;
	n = poll(p, nfds, 10000);
	k = read(0, buf, sizeof buf);
	printf("end: poll %d read %zd\n", n, k);
	return 0;
}
