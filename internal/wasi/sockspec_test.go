package wasi_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// lines is a console that a test waits on for a line.
type lines struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{}
}

func newLines() *lines { return &lines{wake: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.wake)
	l.wake = make(chan struct{})
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the output holds line (a whole line).
func (l *lines) waitFor(t *testing.T, line string, deadline time.Time) {
	t.Helper()
	for {
		l.mu.Lock()
		has := strings.Contains("\n"+l.buf.String(), "\n"+line+"\n")
		wake := l.wake
		l.mu.Unlock()
		if has {
			return
		}
		select {
		case <-wake:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("no line %q by the deadline; output:\n%s", line, l.String())
		}
	}
}

// sockapiWant is what testdata/net/sockapi.c prints against the client of
// TestSocketCalls: WASI errnos (EAGAIN 6, EBADF 8, EINVAL 28, ENOTCONN 53,
// ENOTSOCK 57, ECONNRESET 15, EPIPE 64).
const sockapiWant = `listener nonblock 1
accept now: 6
recv on stdin: 57
send on stdout: 57
shutdown stderr: 57
accept on stdout: 57
recv on the listener: 53
accept with bad flags: 28
shutdown how 0: 28
poll nothing: 28
poll 4999 sockets and a clock: 0, 1 events, first 1 error 0
waiting
listener: errno 0, 1 events, first 1 error 0 hangup 0
accept: 0
conn nonblock 1
recv with bad flags: 28
recv now: 6
empty
readable: errno 0, 1 events, first 1 error 0 hangup 0
peek: 0 ping
peeked
waitall: 0 pingabcd
writable: errno 0, 1 events, first 1 error 0 hangup 0
half?
after half-close: errno 0, 1 events, first 1 error 0 hangup 0
recv at end: 0 0
send after the peer's half-close: 0 3
shutdown: 0
close: 0
shutdown closed: 8
recv closed: 8
reset?
accept: 0
after reset: errno 0, 1 events, first 1 error 0 hangup 1
recv after reset: 15
send after reset: 64
`

// TestSocketCalls: the socket calls of WASI preview 1 as the specification
// and POSIX give them (testdata/net/sockapi.c): a non-blocking listener,
// ENOTSOCK and ENOTCONN, RECV_PEEK and RECV_WAITALL, poll_oneoff's read and
// write readiness, a peer's half-close (readable, not hung up) and reset
// (hung up), shutdown of a closed socket.
func TestSocketCalls(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "net", "sockapi.c"))
	if err != nil {
		t.Fatal(err)
	}
	wasm := testprog.C(t, string(src))
	ctx := context.Background()
	out := newLines()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir("").
		WithStdio(nil, out, out).WithListen("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"sockapi"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	addr := m.ListenAddrs()[0]
	out.waitFor(t, "waiting", deadline)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	out.waitFor(t, "empty", deadline)
	io.WriteString(c, "ping")
	out.waitFor(t, "peeked", deadline)
	io.WriteString(c, "abcd")
	out.waitFor(t, "half?", deadline)
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("after the half-close the server sent %q, %v; output:\n%s", got, err, out.String())
	}
	out.waitFor(t, "reset?", deadline)
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c2.(*net.TCPConn).SetLinger(0) // close sends a reset
	out.waitFor(t, "reset?\naccept: 0", deadline)
	c2.Close()
	if st := p.Wait(); st.Status() != 0 || out.String() != sockapiWant {
		t.Fatalf("status %d; output:\n%s\nwant:\n%s", st.Status(), out.String(), sockapiWant)
	}
}
