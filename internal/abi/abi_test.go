package abi_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

type console struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func buildC(t *testing.T, path string) string {
	t.Helper()
	root := testprog.Root(t)
	out := filepath.Join(t.TempDir(), filepath.Base(path)+".wasm")
	testprog.CFile(t, filepath.Join(root, path), out,
		"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "pingpong", "c"))
	return out
}

const badOut = `lookup of a name nobody registered: no such name
lookup with another contract: contracts differ
lookup with a contract that does not compile: invalid argument
lookup: ok
importer sends Pong: message not allowed in this state
message 99: message not allowed in this state
Ping cut short: payload does not match the message's fields
Ping with a length past the end: payload does not match the message's fields
Ping with trailing bytes: payload does not match the message's fields
send on a forged handle: bad handle
new channel: ok
close its exporter's end: ok
close it again (stale): bad handle
send on a closed channel: channel closed
recv on a closed channel: ok
send an importer's end in an exp<Box> field: handle of the wrong type
send a channel's end on itself: handle of the wrong type
send an exporter's end: ok
send it again (already sent): bad handle
close it (already sent): bad handle
receive it: ok
it has a new handle: yes
nothing more to receive: nothing to receive
recv into a buffer outside memory: bad pointer or length
send from outside memory: bad pointer or length
channels until the handle quota: 1022 handles, then quota exceeded
16 MiB blocks until the heap quota: 4, then quota exceeded
a 1 GiB block: too big
block_alloc: ok
block_write: ok
block_write past the end: too big
block_read: ok
read back: hello
a block as an endpoint: handle of the wrong type
an endpoint as a block: handle of the wrong type
ping: ok
pong: ok
pong seq 7
quit: ok
`

// TestBadInput runs every bad input of the ABI (testdata/bad.c) beside
// examples/pingpong's server and an honest client, each on its own core: the
// bad SIP gets an error for each, and the server and the honest client
// finish their work as if it were not there.
func TestBadInput(t *testing.T) {
	server := buildC(t, "examples/pingpong/c/server.c")
	client := buildC(t, "examples/pingpong/c/client.c")
	bad := buildC(t, "internal/abi/testdata/bad.c")
	ctx := context.Background()
	var out, errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(3).WithOversubscribe(true).WithCacheDir(t.TempDir()).WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	var procs []*isle.Process
	for _, r := range []struct {
		path string
		args []string
		core int
	}{{server, []string{"server", "2"}, 0}, {client, []string{"client", "200"}, 1}, {bad, []string{"bad"}, 2}} {
		prog, err := m.Load(ctx, r.path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.SpawnOn(prog, r.args, r.core)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	for i, p := range procs {
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("program %d: %+v; stderr %s", i, st, errs.String())
		}
	}
	var mine, others []string
	for _, l := range strings.SplitAfter(out.String(), "\n") {
		if strings.HasPrefix(l, "client:") || strings.HasPrefix(l, "server:") {
			others = append(others, l)
		} else if l != "" {
			mine = append(mine, l)
		}
	}
	if got := strings.Join(mine, ""); got != badOut {
		t.Errorf("bad SIP printed:\n%s\nwant:\n%s", got, badOut)
	}
	o := strings.Join(others, "")
	if !strings.Contains(o, "client: 200 rounds of 0 bytes") || !strings.Contains(o, "server: 201 pings from 2 clients") {
		t.Errorf("the others printed:\n%s", o)
	}
}

// TestPeerExit: a SIP that ends without closing its endpoints — here a
// server in the middle of a request — closes them all, so its client sees
// Closed with the breach flag instead of waiting forever, and its name is
// gone: the kernel reports a SIP's end to its exit hooks, and isle.Boot
// hands it to the SIP's abi.Proc.
func TestPeerExit(t *testing.T) {
	quitter := buildC(t, "internal/abi/testdata/quitter.c")
	orphan := buildC(t, "internal/abi/testdata/orphan.c")
	ctx := context.Background()
	var out, errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir(t.TempDir()).WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	var ps []*isle.Process
	for i, path := range []string{quitter, orphan} {
		prog, err := m.Load(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.SpawnOn(prog, []string{"p"}, i)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	done := make(chan struct{})
	go func() {
		for _, p := range ps {
			p.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the client still waits after its server ended; output:\n%s", out.String())
	}
	want := "orphan: message Closed, breach 1\norphan: lookup after the exit: no such name\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%s\nwant it to hold:\n%s", out.String(), want)
	}
}

// TestMigratingPeers crowds four ping-pong pairs onto core 0 of a 2-core
// machine, so that the balancer moves some of their SIPs to core 1 while
// they talk: every round must still complete, each packet delivered on the
// core that owns its destination's SIP (the kernel follows a migrated SIP
// for a SIPDeliverable; before packets were, the kernel panicked here on
// "Wake of a SIP another core owns").
func TestMigratingPeers(t *testing.T) {
	server := buildC(t, "examples/pingpong/c/server.c")
	client := buildC(t, "examples/pingpong/c/client.c")
	ctx := context.Background()
	var out, errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir(t.TempDir()).WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := m.Load(ctx, server)
	cp, _ := m.Load(ctx, client)
	const pairs, rounds = 4, "3000"
	var ps []*isle.Process
	for i := range pairs {
		name := "pp" + string(rune('0'+i))
		s, err := m.SpawnOn(sp, []string{"server", "1", name}, 0)
		if err != nil {
			t.Fatal(err)
		}
		c, err := m.SpawnOn(cp, []string{"client", rounds, "8", name}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, s, c)
	}
	for i, p := range ps {
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("program %d: %+v; stderr %s", i, st, errs.String())
		}
	}
	m.Stop(ctx)
	if n := strings.Count(out.String(), "client: "+rounds+" rounds"); n != pairs {
		t.Errorf("%d clients finished:\n%s", n, out.String())
	}
	moved := 0
	for _, st := range m.Stats() {
		moved += int(st.MigratedOut)
	}
	t.Logf("%d migrations", moved)
}
