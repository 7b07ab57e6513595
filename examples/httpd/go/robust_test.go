package main

// Robustness of the network service under the Go server: clients that
// idle, trickle, reset, or come a thousand at once, and a SIP that exits
// holding connections.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// hostFDs counts the sockets among the test process's open descriptors
// (isle's host sockets and the test's clients; not the eventfds that the
// network service's poll waits come and go with).
func hostFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range es {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// fdsBecome waits until the process holds want descriptors, or fails at
// the deadline.
func fdsBecome(t *testing.T, want int, deadline time.Time, what string) {
	t.Helper()
	for {
		got := hostFDs(t)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d sockets open, want %d", what, got, want)
		}
		time.Sleep(10 * time.Millisecond) // polling a count: nothing to wake us
	}
}

// fetch gets path on a fresh connection and checks the body.
func fetch(addr, path string, want []byte) error {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(b, want) {
		return fmt.Errorf("%s: status %d, %d bytes, %v", path, resp.StatusCode, len(b), err)
	}
	return nil
}

// fetchToEnd gets path with Connection: close and reads until the server
// closes: once it returns, the server-side socket is closed (a peer reads
// the end only after the last descriptor of the socket is), so a count of
// descriptors taken then is exact.
func fetchToEnd(t *testing.T, addr, path string, want []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET /"+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK") || !strings.HasSuffix(string(b), string(want)) {
		t.Fatalf("%s: %q, %v", path, b, err)
	}
}

// TestIdleAndSlowClients: on one core, ten clients that connect and send
// nothing and one that sends its request a byte at a time hold nothing up:
// other clients are served meanwhile, and the slow one is answered in the
// end.
func TestIdleAndSlowClients(t *testing.T) {
	dir, files := site(t)
	addr, _, out := serve(t, 1, 1, dir, nil)
	var idle []net.Conn
	for i := 0; i < 10; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.SetDeadline(time.Now().Add(60 * time.Second))
	req := "GET /a/b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	tick := time.NewTicker(20 * time.Millisecond) // one byte per tick: a slowloris shortened
	defer tick.Stop()
	for i := 0; i < len(req); i++ {
		<-tick.C
		if _, err := slow.Write([]byte{req[i]}); err != nil {
			t.Fatalf("slow client, byte %d: %v", i, err)
		}
		if i%10 == 0 {
			if err := fetch(addr, "page.html", files["page.html"]); err != nil {
				t.Fatalf("while a client trickles: %v; output:\n%s", err, out.String())
			}
		}
	}
	resp, err := io.ReadAll(slow)
	if err != nil || !strings.HasPrefix(string(resp), "HTTP/1.1 200 OK") || !strings.HasSuffix(string(resp), "nested\n") {
		t.Fatalf("slow client got %q, %v", resp, err)
	}
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, err := c.Read(make([]byte, 1)); n != 0 || !os.IsTimeout(err) {
			t.Fatalf("an idle client was answered: %d, %v", n, err)
		}
	}
}

// TestResetMidResponse: clients that reset while a 1 MiB answer is on its
// way; the server closes each connection (its host socket goes) and serves
// on.
func TestResetMidResponse(t *testing.T) {
	dir, files := site(t)
	addr, _, out := serve(t, 2, 1, dir, nil)
	fetchToEnd(t, addr, "a/b.txt", files["a/b.txt"])
	base := hostFDs(t)
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := io.ReadFull(bufio.NewReader(c), make([]byte, 4096)); err != nil {
			t.Fatalf("reset %d: %v; output:\n%s", i, err, out.String())
		}
		c.(*net.TCPConn).SetLinger(0) // close sends a reset
		c.Close()
	}
	if err := fetch(addr, "big.bin", files["big.bin"]); err != nil {
		t.Fatalf("after the resets: %v; output:\n%s", err, out.String())
	}
	fdsBecome(t, base, time.Now().Add(20*time.Second), "after 20 resets")
}

// TestThousandConnectionsAtOnce: 1,000 clients connect at once (less than a
// SIP's 1,024 connections) and each gets its answer.
func TestThousandConnectionsAtOnce(t *testing.T) {
	dir, files := site(t)
	addr, _, out := serve(t, 2, 1, dir, nil)
	const n = 1000
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	for i, c := range conns {
		if c == nil {
			continue
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			io.WriteString(c, "GET /a/b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			b, err := io.ReadAll(c)
			if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK") || !strings.HasSuffix(string(b), string(files["a/b.txt"])) {
				errs <- fmt.Errorf("connection %d: %q, %v", i, b, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v; output:\n%s", err, out.String())
	}
}

// TestServerExitClosesSockets: a SIP that returns from main holding 50
// connections (testdata/sockwait.c, hold) on one listener, beside the Go
// server on another: each of its host sockets is closed (the clients read
// the end, the process's descriptors come back to what they were) and the
// server serves on.
func TestServerExitClosesSockets(t *testing.T) {
	dir, files := site(t)
	// The preopen is fd 3, the listeners fds 4 (sockwait takes the first
	// socket) and 5 (the server's, given as its second argument).
	addr, m, out := serve(t, 2, 0, dir, func(c isle.Config) isle.Config { return c.WithListen("127.0.0.1:0") })
	ctx := context.Background()
	server, err := m.Load(ctx, testprog.Go(t, "./examples/httpd/go"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Spawn(server, []string{"httpd", "/www", "5"}); err != nil {
		t.Fatal(err)
	}
	web := m.ListenAddrs()[1]
	fetchToEnd(t, web, "a/b.txt", files["a/b.txt"])
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "sockwait.c"))
	if err != nil {
		t.Fatal(err)
	}
	holder, err := m.Load(ctx, testprog.C(t, string(src)))
	if err != nil {
		t.Fatal(err)
	}
	base := hostFDs(t)
	const n = 50
	p, err := m.Spawn(holder, []string{"sockwait", "hold", fmt.Sprint(n)})
	if err != nil {
		t.Fatal(err)
	}
	var cs []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs = append(cs, c)
	}
	if st := p.Wait(); st.Status() != 0 {
		t.Fatalf("holder: status %d; output:\n%s", st.Status(), out.String())
	}
	for i, c := range cs {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
			t.Fatalf("connection %d after its SIP ended: %q, %v", i, b, err)
		}
	}
	// A client reads the end only once the last descriptor of its
	// server-side socket is closed, so the count is final now.
	if got := hostFDs(t); got != base+n { // the clients' own n remain
		t.Fatalf("after the holder ended: %d sockets open, want %d", got, base+n)
	}
	if err := fetch(web, "big.bin", files["big.bin"]); err != nil {
		t.Fatalf("the server after the holder ended: %v; output:\n%s", err, out.String())
	}
}

// TestPastTheConnectionQuota: a SIP holds at most MaxFilesPerSIP (1,024)
// connections. 1,030 clients that connect and send nothing fill the Go
// server's quota; a client past it waits in the host's accept queue (Go's
// http.Serve retries an accept that says EMFILE) and is served as soon as
// idle clients leave.
func TestPastTheConnectionQuota(t *testing.T) {
	dir, files := site(t)
	addr, _, out := serve(t, 2, 1, dir, nil)
	const idle = 1030
	var cs []net.Conn
	for i := 0; i < idle; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("idle client %d: %v", i, err)
		}
		defer c.Close()
		cs = append(cs, c)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /a/b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	// Past the quota: no answer while every accepted client stays. (The
	// wait is the assertion: an answer within it would mean no quota.)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !os.IsTimeout(err) {
		t.Fatalf("a client past 1,024 connections was answered: %d, %v", n, err)
	}
	for _, ic := range cs[:idle/2] {
		ic.Close()
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK") || !strings.HasSuffix(string(b), string(files["a/b.txt"])) {
		t.Fatalf("after idle clients left: %q, %v; output:\n%s", b, err, out.String())
	}
}

// TestKilledInstanceLeavesOthers: two instances of the server share the
// listener; clients hold keep-alive connections to both; one instance is
// killed while it waits in poll_oneoff. Its wait ends at once, its clients
// read the end, its host sockets close, and the other instance serves on.
func TestKilledInstanceLeavesOthers(t *testing.T) {
	dir, files := site(t)
	addr, m, out := serve(t, 2, 0, dir, nil)
	ctx := context.Background()
	prog, err := m.Load(ctx, testprog.Go(t, "./examples/httpd/go"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := m.SpawnInstances(prog, []string{"httpd", "/www"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	fetchToEnd(t, addr, "a/b.txt", files["a/b.txt"])
	base := hostFDs(t)
	// Keep-alive connections until each instance holds some.
	held := map[string][]*bufio.Reader{}
	var conns []net.Conn
	for i := 0; i < 200 && (len(held["0"]) == 0 || len(held["1"]) == 0); i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "GET /a/b.txt HTTP/1.1\r\nHost: x\r\n\r\n")
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("connection %d: %v; output:\n%s", i, err, out.String())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		k := resp.Header.Get("X-Isle-Instance")
		held[k] = append(held[k], r)
	}
	if len(held["0"]) == 0 || len(held["1"]) == 0 {
		t.Skipf("200 connections all went to one instance: %d, %d", len(held["0"]), len(held["1"]))
	}
	if err := ps[1].Kill(); err != nil {
		t.Fatal(err)
	}
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- ps[1].Wait() }()
	select {
	case st := <-done:
		if !st.Killed {
			t.Fatalf("instance 1 ended %+v, not killed", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the killed instance had not ended after 10 s")
	}
	for i, r := range held["1"] {
		if b, err := io.ReadAll(r); err != nil || len(b) != 0 {
			t.Fatalf("client %d of the killed instance: %q, %v", i, b, err)
		}
	}
	// The killed instance's sockets are closed (its clients read the end);
	// the test's clients and instance 0's connections remain.
	if got, want := hostFDs(t), base+len(conns)+len(held["0"]); got != want {
		t.Fatalf("%d sockets open after the kill, want %d", got, want)
	}
	for i := 0; i < 20; i++ {
		if err := fetch(addr, "page.html", files["page.html"]); err != nil {
			t.Fatalf("after the kill, request %d: %v; output:\n%s", i, err, out.String())
		}
	}
}

// TestHeaderTimeoutDropsIdleClients: with a header timeout of 200 ms
// (HTTPD_HEADER_TIMEOUT), Go's server drops a client that sends nothing and
// one that stops half-way through its head: the timers of its netpoller
// (poll_oneoff with clock and socket subscriptions, and read deadlines) work
// on isle, and a client that behaves is served meanwhile.
func TestHeaderTimeoutDropsIdleClients(t *testing.T) {
	dir, files := site(t)
	addr, _, out := serve(t, 1, 1, dir, func(c isle.Config) isle.Config { return c.WithEnv("HTTPD_HEADER_TIMEOUT=200ms") })
	start := time.Now()
	var cs []net.Conn
	for _, send := range []string{"", "GET /a/b.txt HTTP/1.1\r\nHo"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, send)
		cs = append(cs, c)
	}
	if err := fetch(addr, "page.html", files["page.html"]); err != nil {
		t.Fatalf("%v; output:\n%s", err, out.String())
	}
	for i, c := range cs {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("client %d was not dropped: %v; output:\n%s", i, err, out.String())
		}
		// As natively: nothing for the silent client; a 400 for the one
		// whose head was cut short.
		if (i == 0 && len(b) != 0) || (i == 1 && !strings.HasPrefix(string(b), "HTTP/1.1 400 ")) {
			t.Fatalf("client %d got %q", i, b)
		}
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("dropped after %v, before the timeout", d)
	}
}
