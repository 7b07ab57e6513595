// httpd is a static-file web server for wasm32-wasi: HTTP/1.1 with
// keep-alive, GET and HEAD, files from the directory given as argv[1] (a
// preopen), 404 for a missing file, 400 for a request it cannot parse.
//
// The listening socket is the first socket fd after the preopens (isle's
// --listen). One process serves many connections: every socket is
// non-blocking and poll() (poll_oneoff) waits on the listener and on each
// connection, for reading while a request is coming and for writing while a
// response is going out.
//
//	clang --target=wasm32-wasi -O2 -Wl,--strip-all -o examples/httpd/c/httpd.wasm examples/httpd/c/httpd.c
//	isle run --listen 127.0.0.1:8080 --dir examples/httpd/www:/www examples/httpd/c/httpd.wasm /www
//
// Files are kept in a small cache, read whole (up to maxFile bytes) the
// first time a request names them; every request stats its file, and a file
// whose size, inode or modification time changed is read again, so a file
// changed on disk is served changed. The stat is one system call where an
// open, fstat, read and close would be four: on isle each is a message to
// the file-system service. The head of a cached file's response is made
// when the file is read, not formatted again for every request.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

// Limits in one place.
enum {
	maxConns = 1000,        // connections served at once; more wait in the backlog
	maxHeader = 8192,       // bytes of a request's line and headers
	maxPath = 1024,         // bytes of a file's path
	maxFile = 64 << 20,     // bytes of a file served
	cacheFiles = 64,        // files kept in the cache
	cacheBytes = 64 << 20,  // bytes kept in the cache (one larger file is still served)
	retryMillis = 100,      // wait before accepting again after a failed accept, no connection open
};

// file is a cached file's contents, shared by the responses sending it,
// with the head of its 200 response made once: head[1] for a response
// after which the connection closes, head[0] for one that keeps it.
struct file {
	char path[maxPath];
	ino_t ino;
	off_t size;
	struct timespec mtim;
	char *data;
	char head[2][256];
	size_t headLen[2];
	int refs;   // the cache's reference (while cached) and each response's
	int cached; // in cache[]
};

// conn is one client connection. in holds the bytes received and not yet
// consumed; a response is being sent while sending is set: head, then the
// body (a cached file's, or an error message), off bytes of both sent.
struct conn {
	int fd;
	char in[maxHeader];
	size_t inLen;
	int sending;
	char head[512];     // the head of a response made for this request
	const char *headp;  // the head being sent: head, or its file's
	size_t headLen;
	struct file *file;  // the body, when it is a file's (one reference held)
	char msg[64];       // the body of an error response
	const char *body;
	size_t bodyLen, off;
	int closeAfter; // close once the response is sent
};

static const char *root;
static struct conn *conns[maxConns];
static int nconns;
static struct file *cache[cacheFiles];
static int ncache;
static size_t cachedBytes;

// listener returns the first socket fd from 3 on (the preopens come first).
static int listener(void) {
	for (int fd = 3;; fd++) {
		__wasi_fdstat_t st;
		__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
		if (e == __WASI_ERRNO_BADF)
			return -1;
		if (e == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM)
			return fd;
	}
}

static const char *reason(int status) {
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

static const char *mimeType(const char *path) {
	static const struct { const char *ext, *type; } types[] = {
		{".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
		{".css", "text/css"}, {".js", "text/javascript"}, {".json", "application/json"},
		{".txt", "text/plain; charset=utf-8"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
		{".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".wasm", "application/wasm"},
	};
	const char *dot = strrchr(path, '.');
	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

// respond sets c's response: status, and a body of len bytes (not sent
// for HEAD).
static void respond(struct conn *c, int status, const char *type, const char *body, size_t len, int headOnly) {
	c->headLen = snprintf(c->head, sizeof c->head,
		"HTTP/1.1 %d %s\r\nServer: isle-httpd\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
		status, reason(status), type, len, c->closeAfter ? "Connection: close\r\n" : "");
	c->headp = c->head;
	c->body = body;
	c->bodyLen = headOnly ? 0 : len;
	c->off = 0;
	c->sending = 1;
}

// respondFile sets c's response to f's contents with the head made when f
// was read (what respond would make, without a printf per request).
static void respondFile(struct conn *c, struct file *f, int headOnly) {
	c->headp = f->head[c->closeAfter != 0];
	c->headLen = f->headLen[c->closeAfter != 0];
	c->body = f->data;
	c->bodyLen = headOnly ? 0 : f->size;
	c->off = 0;
	c->sending = 1;
}

static void respondError(struct conn *c, int status, int headOnly) {
	int n = snprintf(c->msg, sizeof c->msg, "%d %s\n", status, reason(status));
	respond(c, status, "text/plain; charset=utf-8", c->msg, n, headOnly);
}

static void unref(struct file *f) {
	if (--f->refs == 0) {
		free(f->data);
		free(f);
	}
}

static void uncache(int i) {
	struct file *f = cache[i];
	cachedBytes -= f->size;
	f->cached = 0;
	cache[i] = cache[--ncache];
	unref(f);
}

// load reads path whole into a new file, stat'ed as st.
static int load(const char *path, const struct stat *st, struct file **out) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOMEM || errno == EMFILE || errno == ENFILE || errno == EIO ? 500 : 404;
	struct file *f = calloc(1, sizeof *f);
	char *buf = f ? malloc(st->st_size > 0 ? st->st_size : 1) : NULL;
	size_t got = 0;
	while (buf != NULL && got < (size_t)st->st_size) {
		ssize_t n = read(fd, buf + got, st->st_size - got);
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	if (buf == NULL || got != (size_t)st->st_size) {
		free(buf);
		free(f);
		return 500;
	}
	snprintf(f->path, sizeof f->path, "%s", path);
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtim = st->st_mtim;
	f->data = buf;
	f->refs = 1;
	for (int k = 0; k < 2; k++)
		f->headLen[k] = snprintf(f->head[k], sizeof f->head[k],
			"HTTP/1.1 200 OK\r\nServer: isle-httpd\r\nContent-Type: %s\r\nContent-Length: %lld\r\n%s\r\n",
			mimeType(path), (long long)st->st_size, k ? "Connection: close\r\n" : "");
	*out = f;
	return 200;
}

// lookup returns path's contents (with a reference for the caller), from
// the cache if the file is unchanged, or the status to answer with.
static int lookup(const char *path, struct file **out) {
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOMEM || errno == EIO ? 500 : 404;
	if (!S_ISREG(st.st_mode))
		return 404;
	if (st.st_size > maxFile)
		return 500;
	for (int i = 0; i < ncache; i++) {
		struct file *f = cache[i];
		if (strcmp(f->path, path) != 0)
			continue;
		if (f->ino == st.st_ino && f->size == st.st_size && f->mtim.tv_sec == st.st_mtim.tv_sec &&
			f->mtim.tv_nsec == st.st_mtim.tv_nsec) {
			f->refs++;
			*out = f;
			return 200;
		}
		uncache(i);
		break;
	}
	struct file *f;
	int status = load(path, &st, &f);
	if (status != 200)
		return status;
	// Make room, oldest-placed first; a file larger than the cache is
	// served without being kept.
	while (ncache > 0 && (ncache == cacheFiles || cachedBytes + f->size > cacheBytes))
		uncache(0);
	if (cachedBytes + f->size <= cacheBytes) {
		f->refs++;
		f->cached = 1;
		cache[ncache++] = f;
		cachedBytes += f->size;
	}
	*out = f;
	return 200;
}

// hasToken reports whether the comma-separated header value v (len bytes)
// holds token, case-insensitively.
static int hasToken(const char *v, size_t len, const char *token) {
	size_t tl = strlen(token);
	for (size_t i = 0; i < len;) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t j = i;
		while (j < len && v[j] != ',')
			j++;
		size_t k = j;
		while (k > i && (v[k - 1] == ' ' || v[k - 1] == '\t'))
			k--;
		if (k - i == tl && strncasecmp(v + i, token, tl) == 0)
			return 1;
		i = j;
	}
	return 0;
}

static int hexDigit(char ch) {
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

// filePath turns a request target (len bytes) into a file's path under
// root, or returns 0 if the target is not one this server serves: not
// absolute, a bad %-escape, a NUL, or a ".." segment. A query string is
// dropped; a path ending in '/' names index.html.
static int filePath(const char *target, size_t len, char *out, size_t cap) {
	if (len == 0 || target[0] != '/')
		return 0;
	size_t rl = strlen(root), n = rl;
	if (rl + 1 >= cap)
		return 0;
	memcpy(out, root, rl);
	for (size_t i = 0; i < len && target[i] != '?' && target[i] != '#'; i++) {
		char ch = target[i];
		if (ch == '%') {
			int hi = i + 2 < len ? hexDigit(target[i + 1]) : -1, lo = hi >= 0 ? hexDigit(target[i + 2]) : -1;
			if (lo < 0)
				return 0;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		if (ch == 0 || n + sizeof "index.html" >= cap)
			return 0;
		out[n++] = ch;
	}
	out[n] = 0;
	for (char *seg = out + rl; seg != NULL; seg = strchr(seg + 1, '/'))
		if (strncmp(seg, "/..", 3) == 0 && (seg[3] == '/' || seg[3] == 0))
			return 0;
	if (out[n - 1] == '/')
		strcpy(out + n, "index.html");
	return 1;
}

// parse takes the request at the start of c->in, whose head is hlen bytes
// (through the blank line), and sets c's response.
static void parse(struct conn *c, size_t hlen) {
	char *req = c->in;
	char *eol = memchr(req, '\n', hlen);
	size_t llen = eol - req;
	if (llen > 0 && req[llen - 1] == '\r')
		llen--;
	char *sp1 = memchr(req, ' ', llen);
	char *sp2 = sp1 ? memchr(sp1 + 1, ' ', req + llen - sp1 - 1) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == req || sp2 == sp1 + 1) {
		c->closeAfter = 1;
		respondError(c, 400, 0);
		return;
	}
	size_t mlen = sp1 - req, tlen = sp2 - sp1 - 1, vlen = req + llen - sp2 - 1;
	const char *version = sp2 + 1;
	int minor;
	if (vlen == 8 && strncmp(version, "HTTP/1.", 7) == 0 && (version[7] == '0' || version[7] == '1'))
		minor = version[7] - '0';
	else if (vlen >= 5 && strncmp(version, "HTTP/", 5) == 0) {
		c->closeAfter = 1;
		respondError(c, 505, 0);
		return;
	} else {
		c->closeAfter = 1;
		respondError(c, 400, 0);
		return;
	}
	// Headers: each must be name ':' value; Connection, Content-Length and
	// Transfer-Encoding decide whether the connection is kept.
	int keep = minor == 1;
	for (char *h = eol + 1; h < req + hlen;) {
		char *e = memchr(h, '\n', req + hlen - h);
		size_t len = e - h;
		if (len > 0 && h[len - 1] == '\r')
			len--;
		if (len == 0)
			break;
		char *colon = memchr(h, ':', len);
		if (colon == NULL || colon == h || h[0] == ' ' || h[0] == '\t') {
			c->closeAfter = 1;
			respondError(c, 400, 0);
			return;
		}
		if (colon - h == 10 && strncasecmp(h, "connection", 10) == 0) {
			if (hasToken(colon + 1, h + len - colon - 1, "close"))
				keep = 0;
			else if (hasToken(colon + 1, h + len - colon - 1, "keep-alive"))
				keep = 1;
		}
		if (colon - h == 14 && strncasecmp(h, "content-length", 14) == 0 && strtol(colon + 1, NULL, 10) != 0) {
			// A body this server would have to skip: not served.
			keep = 0;
		}
		if (colon - h == 17 && strncasecmp(h, "transfer-encoding", 17) == 0)
			keep = 0;
		h = e + 1;
	}
	c->closeAfter = !keep;
	int head = mlen == 4 && memcmp(req, "HEAD", 4) == 0;
	if (!head && !(mlen == 3 && memcmp(req, "GET", 3) == 0)) {
		respondError(c, 405, 0);
		return;
	}
	char path[maxPath];
	if (tlen >= maxPath - strlen(root) - sizeof "index.html") {
		respondError(c, 414, head);
		return;
	}
	if (!filePath(sp1 + 1, tlen, path, sizeof path)) {
		respondError(c, 404, head);
		return;
	}
	struct file *f;
	int status = lookup(path, &f);
	if (status != 200) {
		respondError(c, status, head);
		return;
	}
	c->file = f;
	respondFile(c, f, head);
}

// next parses the next complete request in c->in, if one is there, and
// consumes it; it returns 1 if c now has a response to send.
static int next(struct conn *c) {
	for (size_t i = 0; i + 1 < c->inLen; i++) {
		// The head ends with an empty line: "\r\n\r\n" or "\n\n".
		if (c->in[i] != '\n')
			continue;
		size_t end = 0;
		if (c->in[i + 1] == '\n')
			end = i + 2;
		else if (c->in[i + 1] == '\r' && i + 2 < c->inLen && c->in[i + 2] == '\n')
			end = i + 3;
		if (end == 0)
			continue;
		parse(c, end);
		memmove(c->in, c->in + end, c->inLen - end);
		c->inLen -= end;
		return 1;
	}
	if (c->inLen == sizeof c->in) {
		c->closeAfter = 1;
		c->inLen = 0;
		respondError(c, 431, 0);
		return 1;
	}
	return 0;
}

// acceptPaused is set when accept failed (for want of a resource: the
// SIP's descriptors, the machine's, memory): the listener is left out of
// poll, which would otherwise say it is ready again at once, until a
// connection closes or, with none open, for retryMillis.
static int acceptPaused;

static void drop(int i) {
	struct conn *c = conns[i];
	acceptPaused = 0;
	close(c->fd);
	if (c->file != NULL)
		unref(c->file);
	free(c);
	conns[i] = conns[--nconns];
}

// sendSome sends what it can of c's response without blocking: 1 when
// all of it is sent, 0 when the socket is full, -1 on an error.
static int sendSome(struct conn *c) {
	while (c->off < c->headLen + c->bodyLen) {
		__wasi_ciovec_t iov[2];
		size_t n = 0;
		if (c->off < c->headLen)
			iov[n++] = (__wasi_ciovec_t){(const uint8_t *)c->headp + c->off, c->headLen - c->off};
		size_t boff = c->off > c->headLen ? c->off - c->headLen : 0;
		if (c->bodyLen > boff)
			iov[n++] = (__wasi_ciovec_t){(const uint8_t *)c->body + boff, c->bodyLen - boff};
		__wasi_size_t sent;
		__wasi_errno_t e = __wasi_sock_send(c->fd, iov, n, 0, &sent);
		if (e == __WASI_ERRNO_AGAIN)
			return 0;
		if (e != 0 || sent == 0)
			return -1;
		c->off += sent;
	}
	return 1;
}

// serve moves connection i on as far as it can without blocking; it
// returns 0 if the connection was closed (and removed). After a response
// it goes back to poll rather than try a receive that a client waiting for
// the response would make fail with EAGAIN.
static int serve(int i) {
	struct conn *c = conns[i];
	int received = 0;
	for (;;) {
		if (c->sending) {
			int r = sendSome(c);
			if (r == 0)
				return 1;
			if (r < 0) {
				drop(i);
				return 0;
			}
			c->sending = 0;
			if (c->file != NULL) {
				unref(c->file);
				c->file = NULL;
			}
			if (c->closeAfter) {
				shutdown(c->fd, SHUT_WR);
				drop(i);
				return 0;
			}
		}
		if (next(c))
			continue;
		if (received)
			return 1;
		ssize_t n = recv(c->fd, c->in + c->inLen, sizeof c->in - c->inLen, 0);
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0) {
			drop(i);
			return 0;
		}
		c->inLen += n;
		received = 1;
	}
}

// acceptAll accepts every connection waiting on l, up to maxConns.
static void acceptAll(int l) {
	while (nconns < maxConns) {
		__wasi_fd_t fd;
		__wasi_errno_t e = __wasi_sock_accept(l, __WASI_FDFLAGS_NONBLOCK, &fd);
		if (e == __WASI_ERRNO_AGAIN)
			return;
		if (e == __WASI_ERRNO_CONNABORTED || e == __WASI_ERRNO_CONNRESET || e == __WASI_ERRNO_INTR)
			continue;
		if (e != 0) {
			acceptPaused = 1;
			fprintf(stderr, "httpd: accept: %s (trying again later)\n", strerror(e));
			return;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			acceptPaused = 1;
			return;
		}
		c->fd = fd;
		conns[nconns++] = c;
	}
}

int main(int argc, char **argv) {
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: httpd /DIR (a preopened directory; the listener comes from --listen)\n");
		return 2;
	}
	root = argv[1];
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		argv[1][--rl] = 0;
	if (rl == 1)
		root = "";
	int l = listener();
	if (l < 0) {
		fprintf(stderr, "httpd: no listening socket (run it with isle run --listen ADDR)\n");
		return 2;
	}
	if (fcntl(l, F_SETFL, O_NONBLOCK) < 0) {
		fprintf(stderr, "httpd: non-blocking listener: %s\n", strerror(errno));
		return 1;
	}
	printf("httpd: serving %s on fd %d\n", argv[1], l);
	fflush(stdout);
	static struct pollfd fds[maxConns + 1];
	for (;;) {
		int n = 0;
		if (nconns < maxConns && !acceptPaused)
			fds[n++] = (struct pollfd){.fd = l, .events = POLLIN};
		int first = n;
		for (int i = 0; i < nconns; i++)
			fds[n++] = (struct pollfd){.fd = conns[i]->fd, .events = conns[i]->sending ? POLLOUT : POLLIN};
		int timeout = -1;
		if (acceptPaused && nconns == 0)
			timeout = retryMillis;
		if (poll(fds, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "httpd: poll: %s\n", strerror(errno));
			return 1;
		}
		// Connections from the last down, so that drop's swap with the
		// last one moves only a connection already seen.
		for (int k = n - 1; k >= first; k--)
			if (fds[k].revents != 0)
				serve(k - first);
		if (first == 1 && fds[0].revents != 0)
			acceptAll(l);
		else if (timeout >= 0)
			acceptPaused = 0;
	}
}
