// echo.c: accepts one connection on the listener at fd 3 (given with
// --listen), answers each line with the line upper-cased until the peer
// shuts down its side, then shuts down and exits.
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wasi/api.h>

int main(void) {
	__wasi_fd_t conn;
	// A listener starts non-blocking (as in wasmtime); this accept blocks.
	__wasi_fd_fdstat_set_flags(3, 0);
	__wasi_errno_t e = __wasi_sock_accept(3, 0, &conn);
	if (e != 0) {
		printf("accept: errno %d\n", e);
		return 1;
	}
	char buf[256];
	ssize_t n;
	long total = 0;
	while ((n = recv(conn, buf, sizeof buf, 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			buf[i] = toupper((unsigned char)buf[i]);
		if (send(conn, buf, n, 0) != n) {
			printf("send: %s\n", strerror(errno));
			return 1;
		}
		total += n;
	}
	if (n < 0)
		printf("recv: %s\n", strerror(errno));
	printf("echoed %ld bytes\n", total);
	printf("send on the listener: %s\n", send(3, "x", 1, 0) < 0 ? strerror(errno) : "ok");
	printf("shutdown: %s\n", shutdown(conn, SHUT_RDWR) < 0 ? strerror(errno) : "ok");
	close(conn);
	return 0;
}
