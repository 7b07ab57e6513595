// sockapi walks the socket calls of WASI preview 1 on the first listener
// (given with --listen) and prints each result; the test (internal/wasi
// sockspec_test.go) plays the client, moving on when it sees each line.
//   1. the listener is non-blocking; sock_accept says EAGAIN; socket calls
//      on stdio and on the listener say ENOTSOCK and ENOTCONN; bad flags
//      EINVAL; poll_oneoff with no subscription EINVAL, with 4,999 socket
//      subscriptions and a clock the clock;
//   2. "waiting": poll_oneoff on the listener until a client connects;
//      accept it non-blocking; recv says EAGAIN ("empty");
//   3. poll for reading until the client's "ping"; peek it; a blocking
//      RECV_WAITALL of 8 bytes gets "ping" and the "abcd" sent after
//      "peeked";
//   4. after "half": the client shut down its side: poll says readable,
//      not hung up; recv says 0; send still works ("bye"); shutdown;
//   5. fd_close, then shutdown and recv say EBADF;
//   6. "reset": a second client connects and resets; recv and send say
//      what the host says (ECONNRESET, then EPIPE).
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static void say(const char *s) {
	printf("%s\n", s);
	fflush(stdout);
}

static __wasi_errno_t recvn(__wasi_fd_t fd, char *buf, size_t n, __wasi_riflags_t fl, size_t *got) {
	__wasi_iovec_t iov = {(uint8_t *)buf, n};
	__wasi_roflags_t rf;
	return __wasi_sock_recv(fd, &iov, 1, fl, got, &rf);
}

static __wasi_errno_t sendn(__wasi_fd_t fd, const char *s, size_t *sent) {
	__wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
	return __wasi_sock_send(fd, &iov, 1, 0, sent);
}

// waitfor polls fd for ev (1 read, 2 write), 10 s at most; it prints what
// came back.
static void waitfor(const char *what, __wasi_fd_t fd, __wasi_eventtype_t ev) {
	__wasi_subscription_t sub[2];
	memset(sub, 0, sizeof sub);
	sub[0].userdata = 1;
	sub[0].u.tag = ev;
	sub[0].u.u.fd_read.file_descriptor = fd;
	sub[1].userdata = 2;
	sub[1].u.tag = __WASI_EVENTTYPE_CLOCK;
	sub[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	sub[1].u.u.clock.timeout = 10000000000ull;
	__wasi_event_t evs[2];
	__wasi_size_t n = 0;
	__wasi_errno_t e = __wasi_poll_oneoff(sub, evs, 2, &n);
	printf("%s: errno %d, %u events, first %llu error %d hangup %d\n", what, e, (unsigned)n,
	       (unsigned long long)evs[0].userdata, evs[0].error,
	       (evs[0].fd_readwrite.flags & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP) != 0);
	fflush(stdout);
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0); // each line as it comes: the client waits on them
	__wasi_fd_t l = 3, c, c2;
	__wasi_errno_t e;
	__wasi_fdstat_t st;
	if (__wasi_fd_fdstat_get(l, &st) != 0)
		return 1;
	printf("listener nonblock %d\n", (st.fs_flags & __WASI_FDFLAGS_NONBLOCK) != 0);
	printf("accept now: %d\n", __wasi_sock_accept(l, 0, &c));
	char buf[64];
	size_t got = 0, sent = 0;
	printf("recv on stdin: %d\n", recvn(0, buf, 4, 0, &got));
	printf("send on stdout: %d\n", sendn(1, "x", &sent));
	printf("shutdown stderr: %d\n", __wasi_sock_shutdown(2, __WASI_SDFLAGS_WR));
	printf("accept on stdout: %d\n", __wasi_sock_accept(1, 0, &c));
	printf("recv on the listener: %d\n", recvn(l, buf, 4, 0, &got));
	printf("accept with bad flags: %d\n", __wasi_sock_accept(l, 2, &c));
	printf("shutdown how 0: %d\n", __wasi_sock_shutdown(l, 0));
	__wasi_event_t ev;
	__wasi_size_t n;
	printf("poll nothing: %d\n", __wasi_poll_oneoff(NULL, &ev, 0, &n));
	static __wasi_subscription_t many[5000];
	static __wasi_event_t manyev[5000];
	for (int i = 0; i < 4999; i++) {
		many[i].userdata = 10 + i;
		many[i].u.tag = __WASI_EVENTTYPE_FD_READ;
		many[i].u.u.fd_read.file_descriptor = l;
	}
	many[4999].userdata = 1;
	many[4999].u.tag = __WASI_EVENTTYPE_CLOCK;
	many[4999].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	e = __wasi_poll_oneoff(many, manyev, 5000, &n);
	printf("poll 4999 sockets and a clock: %d, %u events, first %llu error %d\n", e, (unsigned)n,
	       (unsigned long long)manyev[0].userdata, manyev[0].error);
	say("waiting");
	waitfor("listener", l, __WASI_EVENTTYPE_FD_READ);
	printf("accept: %d\n", __wasi_sock_accept(l, __WASI_FDFLAGS_NONBLOCK, &c));
	if (__wasi_fd_fdstat_get(c, &st) != 0)
		return 1;
	printf("conn nonblock %d\n", (st.fs_flags & __WASI_FDFLAGS_NONBLOCK) != 0);
	printf("recv with bad flags: %d\n", recvn(c, buf, 4, 4, &got));
	printf("recv now: %d\n", recvn(c, buf, 4, 0, &got));
	say("empty");
	waitfor("readable", c, __WASI_EVENTTYPE_FD_READ);
	e = recvn(c, buf, 4, __WASI_RIFLAGS_RECV_PEEK, &got);
	printf("peek: %d %.*s\n", e, (int)got, buf);
	say("peeked");
	if (__wasi_fd_fdstat_set_flags(c, 0) != 0)
		return 1;
	e = recvn(c, buf, 8, __WASI_RIFLAGS_RECV_WAITALL, &got);
	printf("waitall: %d %.*s\n", e, (int)got, buf);
	waitfor("writable", c, __WASI_EVENTTYPE_FD_WRITE);
	say("half?");
	waitfor("after half-close", c, __WASI_EVENTTYPE_FD_READ);
	e = recvn(c, buf, 8, 0, &got);
	printf("recv at end: %d %zu\n", e, got);
	e = sendn(c, "bye", &sent);
	printf("send after the peer's half-close: %d %zu\n", e, sent);
	printf("shutdown: %d\n", __wasi_sock_shutdown(c, __WASI_SDFLAGS_WR));
	printf("close: %d\n", __wasi_fd_close(c));
	printf("shutdown closed: %d\n", __wasi_sock_shutdown(c, __WASI_SDFLAGS_RD));
	printf("recv closed: %d\n", recvn(c, buf, 4, 0, &got));
	say("reset?");
	if (__wasi_fd_fdstat_set_flags(l, 0) != 0)
		return 1;
	printf("accept: %d\n", __wasi_sock_accept(l, 0, &c2));
	waitfor("after reset", c2, __WASI_EVENTTYPE_FD_READ);
	printf("recv after reset: %d\n", recvn(c2, buf, 4, 0, &got));
	printf("send after reset: %d\n", sendn(c2, "x", &sent));
	return 0;
}
