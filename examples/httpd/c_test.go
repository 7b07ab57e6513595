// Package httpd_test runs examples/httpd: c/, the C web server, on isle and
// talks to it with Go's HTTP client and by hand: keep-alive, HEAD, 404, 400,
// Content-Length, a 1 MiB file, pipelined requests and 32 connections open
// at once.
package httpd_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// TestCServerIsCurrent proves the committed httpd.wasm is built from
// httpd.c with the command its header gives.
func TestCServerIsCurrent(t *testing.T) {
	dir := filepath.Join(testprog.Root(t), "examples", "httpd", "c")
	out := filepath.Join(t.TempDir(), "httpd.wasm")
	testprog.CFile(t, filepath.Join(dir, "httpd.c"), out)
	got, _ := os.ReadFile(out)
	committed, err := os.ReadFile(filepath.Join(dir, "httpd.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatalf("examples/httpd/c/httpd.wasm is stale: rebuild it with clang %s -o examples/httpd/c/httpd.wasm examples/httpd/c/httpd.c", strings.Join(testprog.CFlags(), " "))
	}
}

// output collects the machine's console.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// site is the committed www/ copied beside a 1 MiB file of random bytes.
func site(t *testing.T) (dir string, big []byte) {
	t.Helper()
	dir = t.TempDir()
	www := filepath.Join(testprog.Root(t), "examples", "httpd", "www")
	ents, err := os.ReadDir(www)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(www, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big = make([]byte, 1<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, big
}

// serve boots a machine that runs the committed httpd.wasm over dir and
// returns its address; the machine stops when the test ends.
func serve(t *testing.T, dir string) (string, *output) {
	t.Helper()
	return serveN(t, dir, 1)
}

// serveN is serve with n instances of the server, instance i on core i mod
// 2, all offered the same listener.
func serveN(t *testing.T, dir string, n int) (string, *output) {
	t.Helper()
	ctx := context.Background()
	out := &output{}
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir("").
		WithListen("127.0.0.1:0").WithDir(isle.Dir{Host: dir, Guest: "/www"}).WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(ctx) })
	prog, err := m.Load(ctx, filepath.Join(testprog.Root(t), "examples", "httpd", "c", "httpd.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := m.SpawnOn(prog, []string{"httpd", "/www"}, i%2); err != nil {
			t.Fatal(err)
		}
	}
	return m.ListenAddrs()[0], out
}

// countingClient is an HTTP client that counts the connections it dials.
func countingClient(dials *atomic.Int32) *http.Client {
	d := &net.Dialer{}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		DisableCompression: true,
	}}
}

func get(t *testing.T, c *http.Client, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, body
}

// TestCServerHTTP: Go's client against the server: the files' bytes with
// their Content-Length, HEAD without a body, 404 for a missing file or a
// path out of the directory, every request on one kept-alive connection.
func TestCServerHTTP(t *testing.T) {
	dir, big := site(t)
	addr, out := serve(t, dir)
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	c := countingClient(&dials)
	base := "http://" + addr
	for i := 0; i < 20; i++ {
		resp, body := get(t, c, "GET", base+"/")
		if resp.StatusCode != 200 || !bytes.Equal(body, index) || resp.ContentLength != int64(len(index)) ||
			resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET / #%d: status %d, %d bytes, Content-Length %d, type %q; output:\n%s",
				i, resp.StatusCode, len(body), resp.ContentLength, resp.Header.Get("Content-Type"), out)
		}
	}
	resp, body := get(t, c, "GET", base+"/big.bin")
	if resp.StatusCode != 200 || !bytes.Equal(body, big) || resp.ContentLength != 1<<20 {
		t.Errorf("GET /big.bin: status %d, %d bytes (equal: %v), Content-Length %d", resp.StatusCode, len(body), bytes.Equal(body, big), resp.ContentLength)
	}
	resp, body = get(t, c, "HEAD", base+"/index.html")
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(index)) {
		t.Errorf("HEAD /index.html: status %d, %d body bytes, Content-Length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
	resp, body = get(t, c, "GET", base+"/hello.txt?x=1")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.HasPrefix(string(body), "Not much here") {
		t.Errorf("GET /hello.txt?x=1: status %d, type %q, body %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, path := range []string{"/nope.html", "/hello.txt/", "/%2e%2e/etc/passwd", "/a/../index.html"} {
		resp, body = get(t, c, "GET", base+path)
		if resp.StatusCode != 404 || resp.ContentLength != int64(len(body)) || string(body) != "404 Not Found\n" {
			t.Errorf("GET %s: status %d, body %q, Content-Length %d", path, resp.StatusCode, body, resp.ContentLength)
		}
	}
	// The cache serves a file changed on disk changed (a new size, then
	// the same size with new bytes and a new modification time).
	for _, content := range []string{"changed\n", "CHANGED\n"} {
		if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(time.Duration(len(content)+int(content[0])) * time.Second)
		if err := os.Chtimes(filepath.Join(dir, "hello.txt"), future, future); err != nil {
			t.Fatal(err)
		}
		if resp, body = get(t, c, "GET", base+"/hello.txt"); string(body) != content {
			t.Errorf("GET /hello.txt after it changed: status %d, body %q, want %q", resp.StatusCode, body, content)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("the client dialled %d connections; keep-alive should have kept one", n)
	}
}

// exchange writes raw on a fresh connection and returns what comes back
// until the server closes it.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v (got %q)", raw, err, got)
	}
	return string(got)
}

// TestCServerRaw: what a client writes by hand: garbage is a 400 and the
// connection closes; HTTP/1.0 and "Connection: close" close after the
// response; two pipelined requests get two responses in order; an unknown
// method is a 405.
func TestCServerRaw(t *testing.T) {
	dir, _ := site(t)
	addr, _ := serve(t, dir)
	hello, _ := os.ReadFile(filepath.Join(dir, "hello.txt"))
	okHello := fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: isle-httpd\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n", len(hello))
	for _, tc := range []struct{ name, send, want string }{
		{"garbage", "garbage\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"bad header", "GET / HTTP/1.1\r\nno colon here\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
		{"POST", "POST /hello.txt HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n"},
		{"HTTP/1.0", "GET /hello.txt HTTP/1.0\r\n\r\n", okHello + "Connection: close\r\n\r\n" + string(hello)},
		{"close", "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", okHello + "Connection: close\r\n\r\n" + string(hello)},
		{"pipelined", "HEAD /hello.txt HTTP/1.1\r\n\r\nGET /hello.txt HTTP/1.1\nConnection: close\n\n",
			okHello + "\r\n" + okHello + "Connection: close\r\n\r\n" + string(hello)},
		{"header too large", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 9000), "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
	} {
		got := exchange(t, addr, tc.send)
		if !strings.HasPrefix(got, tc.want) || (strings.HasSuffix(tc.want, string(hello)) && got != tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		if strings.HasPrefix(tc.want, "HTTP/1.1 4") || strings.HasPrefix(tc.want, "HTTP/1.1 5") {
			if !strings.Contains(got, "Connection: close\r\n") {
				t.Errorf("%s: an error response that closes the connection should say so: %q", tc.name, got)
			}
		}
	}
}

// TestCServerConcurrent: 32 connections open at once, each with a request
// in flight, answered in the reverse order of their opening, for several
// rounds on the same connections. A server that served one connection at a
// time would wait on the first one's next request for ever. Then the same
// with two instances on two cores sharing the listener, each accept racing
// the other's (the loser gets EAGAIN and goes back to poll).
func TestCServerConcurrent(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d instances", n), func(t *testing.T) { concurrent(t, n) })
	}
}

func concurrent(t *testing.T, instances int) {
	dir, _ := site(t)
	addr, out := serveN(t, dir, instances)
	index, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	const conns, rounds = 32, 5
	type client struct {
		c net.Conn
		r *bufio.Reader
	}
	var cs []client
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(deadline)
		cs = append(cs, client{c, bufio.NewReader(c)})
	}
	for round := 0; round < rounds; round++ {
		for _, cl := range cs {
			if _, err := io.WriteString(cl.c, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
		}
		for i := conns - 1; i >= 0; i-- {
			resp, err := http.ReadResponse(cs[i].r, nil)
			if err != nil {
				t.Fatalf("round %d, connection %d: %v; output:\n%s", round, i, err, out)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, index) || resp.Close {
				t.Fatalf("round %d, connection %d: status %d, %d bytes, close %v, %v", round, i, resp.StatusCode, len(body), resp.Close, err)
			}
		}
	}
}

// TestCServerCurl: curl, where it is installed, fetches two files over one
// kept-alive connection, and a HEAD's Content-Length is the file's.
func TestCServerCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	dir, _ := site(t)
	addr, _ := serve(t, dir)
	index, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	out := filepath.Join(t.TempDir(), "index.html")
	cmd := exec.Command(curl, "-sS", "-v", "--max-time", "30", "-o", out, "http://"+addr+"/", "-o", os.DevNull, "http://"+addr+"/hello.txt")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl: %v\n%s", err, stderr.String())
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, index) {
		t.Errorf("curl fetched %d bytes of index.html, want %d", len(got), len(index))
	}
	if !strings.Contains(stderr.String(), "Re-using existing connection") {
		t.Errorf("curl did not reuse its connection:\n%s", stderr.String())
	}
	head, err := exec.Command(curl, "-sS", "-I", "--max-time", "30", "http://"+addr+"/index.html").Output()
	if err != nil || !strings.Contains(string(head), fmt.Sprintf("Content-Length: %d\r\n", len(index))) {
		t.Errorf("curl -I: %v\n%s", err, head)
	}
}

// TestCServerSlowClients: a connection that sends nothing and one that has
// sent half a request head hold nothing up; a client that resets in the
// middle of a 1 MiB response leaves the server serving.
func TestCServerSlowClients(t *testing.T) {
	dir, big := site(t)
	addr, out := serve(t, dir)
	deadline := time.Now().Add(30 * time.Second)
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	io.WriteString(half, "GET /index.html HTTP/1.1\r\nHost: x\r\n")
	reset, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(reset, "GET /big.bin HTTP/1.1\r\n\r\n")
	reset.SetDeadline(deadline)
	if _, err := io.ReadFull(reset, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	reset.(*net.TCPConn).SetLinger(0)
	reset.Close() // an RST, with most of the response unsent
	var dials atomic.Int32
	c := countingClient(&dials)
	for i := 0; i < 5; i++ {
		resp, body := get(t, c, "GET", "http://"+addr+"/big.bin")
		if resp.StatusCode != 200 || !bytes.Equal(body, big) {
			t.Fatalf("GET /big.bin beside slow clients: status %d, %d bytes; output:\n%s", resp.StatusCode, len(body), out)
		}
	}
	// The half-sent request is still answered when it is finished.
	half.SetDeadline(deadline)
	io.WriteString(half, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(half), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the finished slow request: %v, %v", resp, err)
	}
	resp.Body.Close()
}
