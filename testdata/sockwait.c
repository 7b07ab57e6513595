// sockwait waits on the listener (given with --listen: the first socket
// fd after the preopens), in one of
// three ways, chosen by argv[1]:
//   accept      blocks in sock_accept (it says "accepting" first);
//   recv        accepts one connection, says "accepted", then blocks in
//               sock_recv on it until the peer sends or closes;
//   serve N     accepts N connections one after another, answers each with
//               the line it receives upper-cased, closes it, and says
//               "served N";
//   hold N      accepts N connections, says "held N" and returns from main
//               without closing them (the exit hook releases them).
// argv[2] (accept, recv) or argv[3] (serve, hold), when given, is a tag
// printed before each line.
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wasi/api.h>

static void say(const char *tag, const char *what) {
	printf("%s%s\n", tag, what);
	fflush(stdout);
}

// listener returns the first socket fd from 3 on.
static int listener(void) {
	for (int fd = 3; fd < 64; fd++) {
		__wasi_fdstat_t st;
		if (__wasi_fd_fdstat_get(fd, &st) == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM)
			return fd;
	}
	return -1;
}

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	int l = listener();
	// A listener starts non-blocking (as in wasmtime); these waits block.
	__wasi_fd_fdstat_set_flags(l, 0);
	__wasi_fd_t conn;
	__wasi_errno_t e;
	char buf[256];
	if (strcmp(argv[1], "accept") == 0) {
		const char *tag = argc > 2 ? argv[2] : "";
		say(tag, "accepting");
		e = __wasi_sock_accept(l, 0, &conn);
		printf("%saccept: errno %d\n", tag, e);
		return 0;
	}
	if (strcmp(argv[1], "recv") == 0) {
		const char *tag = argc > 2 ? argv[2] : "";
		if ((e = __wasi_sock_accept(l, 0, &conn)) != 0) {
			printf("%saccept: errno %d\n", tag, e);
			return 1;
		}
		say(tag, "accepted");
		ssize_t n = recv(conn, buf, sizeof buf, 0);
		printf("%srecv: %zd\n", tag, n);
		return 0;
	}
	if (strcmp(argv[1], "hold") == 0 && argc > 2) {
		int n = atoi(argv[2]);
		const char *tag = argc > 3 ? argv[3] : "";
		for (int i = 0; i < n; i++) {
			if ((e = __wasi_sock_accept(l, 0, &conn)) != 0) {
				printf("%saccept: errno %d\n", tag, e);
				return 1;
			}
		}
		printf("%sheld %d\n", tag, n);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0 && argc > 2) {
		int n = atoi(argv[2]);
		const char *tag = argc > 3 ? argv[3] : "";
		for (int i = 0; i < n; i++) {
			if ((e = __wasi_sock_accept(l, 0, &conn)) != 0) {
				printf("%saccept: errno %d\n", tag, e);
				return 1;
			}
			ssize_t k = recv(conn, buf, sizeof buf, 0);
			if (k < 0) {
				printf("%srecv: %s\n", tag, strerror(errno));
				return 1;
			}
			for (ssize_t j = 0; j < k; j++)
				buf[j] = toupper((unsigned char)buf[j]);
			if (k > 0 && send(conn, buf, k, 0) != k) {
				printf("%ssend: %s\n", tag, strerror(errno));
				return 1;
			}
			close(conn);
		}
		printf("%sserved %d\n", tag, n);
		return 0;
	}
	return 2;
}
