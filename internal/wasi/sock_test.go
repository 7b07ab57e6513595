package wasi_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// echoOver runs wasm on a machine listening on a free port, sends msg over
// one connection, closes the sending side and returns what came back and
// the program's output.
func echoOver(t *testing.T, wasm string, msg string) (string, string) {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir("").
		WithStdio(nil, &out, io.Discard).WithListen("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"echo"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", m.ListenAddrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if st := p.Wait(); st.Status() != 0 {
		t.Errorf("exit status %d, output %q", st.Status(), out.String())
	}
	return string(got), out.String()
}

// TestSocketsC: a C program accepts, receives and sends on a listener
// given with --listen (sock_accept, sock_recv, sock_send, sock_shutdown).
func TestSocketsC(t *testing.T) {
	got, out := echoOver(t, cProg(t, "echo.c"), "hello\nworld\n")
	if got != "HELLO\nWORLD\n" {
		t.Errorf("echoed %q", got)
	}
	want := "echoed 12 bytes\nsend on the listener: Socket not connected\nshutdown: ok\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

// TestSocketsGo: Go's net package on wasip1 (net.FileListener, non-blocking
// sockets waited on in poll_oneoff).
func TestSocketsGo(t *testing.T) {
	got, out := echoOver(t, testprog.Go(t, "./testdata/wasi/goecho"), "hello from go\n")
	if got != "HELLO FROM GO\n" || out != "echoed 14 bytes\n" {
		t.Errorf("echoed %q, output %q", got, out)
	}
}
