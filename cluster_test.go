package isle_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/cluster/gateway"
	"isle/internal/cluster/link"
	"isle/internal/testprog"
	"isle/internal/wasmbin"
)

// exitModule is a program that exits 0 at once.
func exitModule() []byte { return wasmbin.CallsModule("isle_none", nil, nil, nil) }

// syncLog collects log lines from several goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n")
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pingpongC builds examples/pingpong's C server or client.
func pingpongC(t *testing.T, name string) string {
	t.Helper()
	root := testprog.Root(t)
	out := filepath.Join(t.TempDir(), name+".wasm")
	testprog.CFile(t, filepath.Join(root, "examples", "pingpong", "c", name+".c"), out,
		"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "pingpong", "c"))
	return out
}

// tlsNodes starts link nodes 1 and 2 on loopback with mutual TLS.
func tlsNodes(t *testing.T, logf func(string, ...any)) (*link.Node, *link.Node) {
	t.Helper()
	dir := t.TempDir()
	if err := link.GenerateCerts(dir, []uint64{1, 2}); err != nil {
		t.Fatal(err)
	}
	start := func(id uint64, peers map[uint64]string) *link.Node {
		cfg, err := link.LoadTLS(dir, id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := link.Start(link.Config{ID: id, Listen: "127.0.0.1:0", Peers: peers, TLS: cfg, Logf: logf})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	one := start(1, nil)
	two := start(2, map[uint64]string{1: one.Addr()})
	one.AddPeer(2, two.Addr())
	return one, two
}

func pingpongRemote(t *testing.T) isle.RemoteName {
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "examples", "contracts", "pingpong.contract"))
	if err != nil {
		t.Fatal(err)
	}
	return isle.RemoteName{Name: "pingpong", Node: 1, Source: src, Contract: "PingPong"}
}

// bootNode boots a one-core machine that is a node of the cluster.
func bootNode(t *testing.T, cl isle.ClusterConfig, out, errs *bytes.Buffer) *isle.Machine {
	t.Helper()
	ctx := context.Background()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
		WithStdio(strings.NewReader(""), out, errs).WithCluster(cl))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(ctx) })
	return m
}

// bootServerNode is bootNode for the node that serves, and returns with it a
// wait for a name's registration there: a client on another node spawned
// before the server has registered finds no such name (the gateway refuses
// the channel, and the client sees Closed at once), which is right, and not
// what these tests are about.
func bootServerNode(t *testing.T, cl isle.ClusterConfig, out, errs *bytes.Buffer) (*isle.Machine, func(name string)) {
	t.Helper()
	ctx := context.Background()
	names := make(chan string, 16)
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
		WithStdio(strings.NewReader(""), out, errs).WithCluster(cl).
		WithNameWatcher(func(ev isle.NameEvent) {
			if ev.Registered {
				select {
				case names <- ev.Name:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(ctx) })
	return m, func(name string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case n := <-names:
				if n == name {
					return
				}
			case <-deadline:
				t.Fatalf("%q was not registered within 20 s; stderr %s", name, errs.String())
			}
		}
	}
}

// TestClusterPingPong: examples/pingpong's C server on one machine and its
// client on another, joined by a TLS link on loopback: the client's lookup of
// the remote name and every round cross the link, checked at both ends.
func TestClusterPingPong(t *testing.T) {
	server, client := pingpongC(t, "server"), pingpongC(t, "client")
	log := &syncLog{}
	one, two := tlsNodes(t, log.logf)
	var outA, errA, outB, errB bytes.Buffer
	a, registered := bootServerNode(t, isle.ClusterConfig{Link: one, Logf: log.logf}, &outA, &errA)
	b := bootNode(t, isle.ClusterConfig{Link: two, Remote: []isle.RemoteName{pingpongRemote(t)}, Logf: log.logf}, &outB, &errB)
	ctx := context.Background()
	sp, err := a.Load(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := b.Load(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Spawn(sp, []string{"server", "1"})
	if err != nil {
		t.Fatal(err)
	}
	registered("pingpong")
	c, err := b.Spawn(cp, []string{"client", "500", "100"})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(); st.Status() != 0 {
		t.Fatalf("client: %+v; stderr %s; log:\n%s", st, errB.String(), log)
	}
	if st := s.Wait(); st.Status() != 0 {
		t.Fatalf("server: %+v; stderr %s; log:\n%s", st, errA.String(), log)
	}
	if !strings.Contains(outB.String(), "client: 500 rounds of 100 bytes") || !strings.Contains(outA.String(), "server: 500 pings from 1 clients") {
		t.Fatalf("outputs: %q, %q", outA.String(), outB.String())
	}
	t.Log(strings.TrimSpace(outB.String()))
}

// TestClusterLinkDown: when the link to the server's node is lost mid-run,
// the client's endpoint gets Closed and its machine carries on.
// examples/pingpong's client exits 1 either way it meets the Closed: a
// receive that gets it reports a bad answer (message 65535), a send after
// it "send: channel closed" (which of the two depends on where in its
// round the client is when the link goes).
func TestClusterLinkDown(t *testing.T) {
	server, client := pingpongC(t, "server"), pingpongC(t, "client")
	log := &syncLog{}
	one, two := tlsNodes(t, log.logf)
	var outA, errA, outB, errB bytes.Buffer
	a, registered := bootServerNode(t, isle.ClusterConfig{Link: one, Logf: log.logf}, &outA, &errA)
	b := bootNode(t, isle.ClusterConfig{Link: two, Remote: []isle.RemoteName{pingpongRemote(t)}, Logf: log.logf}, &outB, &errB)
	ctx := context.Background()
	sp, _ := a.Load(ctx, server)
	cp, _ := b.Load(ctx, client)
	if _, err := a.Spawn(sp, []string{"server", "1"}); err != nil {
		t.Fatal(err)
	}
	registered("pingpong")
	c, err := b.Spawn(cp, []string{"client", "1000000000"})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until rounds cross the link, then cut it.
	deadline := time.Now().Add(20 * time.Second)
	for two.Stats().FramesOut < 200 {
		if time.Now().After(deadline) {
			t.Fatalf("no rounds crossed; stderr %s; log:\n%s", errB.String(), log)
		}
		time.Sleep(time.Millisecond) // polling a condition
	}
	one.Close()
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- c.Wait() }()
	select {
	case st := <-done:
		if e := errB.String(); st.Status() != 1 || !strings.Contains(e, "bad answer (message 65535)") && !strings.Contains(e, "send: channel closed") {
			t.Fatalf("client: %+v, stderr %q", st, errB.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the client did not see Closed; log:\n%s", log)
	}
	if !strings.Contains(log.String(), "the link to node 1 is lost: 1 channels closed") {
		t.Fatalf("log:\n%s", log)
	}
	// A lookup of the name now gets a channel that is closed at once: the
	// client does not wait for a node that is gone.
	c2, err := b.Spawn(cp, []string{"client", "10"})
	if err != nil {
		t.Fatal(err)
	}
	if st := c2.Wait(); st.Status() != 1 || !strings.Contains(log.String(), "node 1 is not linked") {
		t.Fatalf("a client after the link was lost: %+v; log:\n%s", st, log)
	}
	// The machine still runs programs.
	hp, err := b.LoadBytes(ctx, "exit0", exitModule())
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Spawn(hp, []string{"exit0"})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Wait(); st.Status() != 0 {
		t.Fatalf("a program after the link was lost: %+v", st)
	}
}

// TestClusterCheckedOnArrival: a node that sends what the contract does not
// allow (a Ping from the server's side; a message the contract does not
// have; a frame cut short) is refused by the receiving node's gateway: the channel is closed,
// the client sees Closed, and the sending node is told.
func TestClusterCheckedOnArrival(t *testing.T) {
	client := pingpongC(t, "client")
	for _, tc := range []struct {
		name      string
		msg       uint16
		malformed bool
	}{{"ping-from-exporter", 0, false}, {"no-such-message", 77, false}, {"malformed-frame", 1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			log := &syncLog{}
			one, two := tlsNodes(t, log.logf)
			// Node 1 is no machine: a hostile peer answering the open itself.
			closed := make(chan uint64, 1)
			one.Handle(gateway.KindOpen, func(from uint64, p []byte) {
				id := binary.BigEndian.Uint64(p)
				m := binary.BigEndian.AppendUint64([]byte{1}, id) // dir 1: the receiver's id
				m = binary.BigEndian.AppendUint16(m, tc.msg)
				m = append(m, 0)                           // no blocks
				m = binary.BigEndian.AppendUint32(m, 12)   // the payload's length
				m = binary.LittleEndian.AppendUint64(m, 0) // seq
				m = binary.LittleEndian.AppendUint32(m, 0) // empty payload field
				if !tc.malformed {
					m = append(m, 0) // no endpoints carried
				}
				one.Send(from, gateway.KindMsg, m)
			})
			one.Handle(gateway.KindClose, func(from uint64, p []byte) { closed <- binary.BigEndian.Uint64(p[1:]) })
			var outB, errB bytes.Buffer
			b := bootNode(t, isle.ClusterConfig{Link: two, Remote: []isle.RemoteName{pingpongRemote(t)}, Logf: log.logf}, &outB, &errB)
			ctx := context.Background()
			cp, _ := b.Load(ctx, client)
			c, err := b.Spawn(cp, []string{"client", "1000"})
			if err != nil {
				t.Fatal(err)
			}
			if st := c.Wait(); st.Status() != 1 || !strings.Contains(errB.String(), "65535") {
				t.Fatalf("client: %+v, stderr %q; log:\n%s", st, errB.String(), log)
			}
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the sending node was not told the channel closed")
			}
			if !strings.Contains(log.String(), "refused on arrival") {
				t.Fatalf("log:\n%s", log)
			}
		})
	}
}

// acrossNodes runs testdata/cluster/FILE.c's server (argv "NAME server")
// on node 1 and, once NAME is registered there, its client on node 2,
// which imports NAME speaking contract of src; it returns the two SIPs with
// their outputs and the links' log.
type acrossNodes struct {
	server, client         *isle.Process
	outA, errA, outB, errB bytes.Buffer
	log                    *syncLog
}

func runAcrossNodes(t *testing.T, name, contract string, src []byte) *acrossNodes {
	t.Helper()
	root := testprog.Root(t)
	code, err := os.ReadFile(filepath.Join(root, "testdata", "cluster", name+".c"))
	if err != nil {
		t.Fatal(err)
	}
	prog := testprog.C(t, string(code), "-I", filepath.Join(root, "guest", "c"))
	r := &acrossNodes{log: &syncLog{}}
	one, two := tlsNodes(t, r.log.logf)
	a, registered := bootServerNode(t, isle.ClusterConfig{Link: one, Logf: r.log.logf}, &r.outA, &r.errA)
	b := bootNode(t, isle.ClusterConfig{Link: two, Logf: r.log.logf, Remote: []isle.RemoteName{{Name: name, Node: 1, Source: src, Contract: contract}}}, &r.outB, &r.errB)
	ctx := context.Background()
	pa, err := a.Load(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.Load(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	if r.server, err = a.Spawn(pa, []string{name, "server"}); err != nil {
		t.Fatal(err)
	}
	registered(name)
	if r.client, err = b.Spawn(pb, []string{name, "client"}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestClusterBlocks: exchange-heap blocks of 1 byte to 1 MiB sent on a
// channel that crosses nodes move with the message: the sender's handle is
// dead after the send, the receiver on the other node owns a block of the
// same bytes, and the answer's block comes back the same way
// (testdata/cluster/blocks.c).
func TestClusterBlocks(t *testing.T) {
	src := []byte("contract Blocks {\n  msg Data(n u32)\n  msg Back(n u32)\n  initial final state Idle { imp Data -> Busy }\n  state Busy { exp Back -> Idle }\n}\n")
	r := runAcrossNodes(t, "blocks", "Blocks", src)
	if st := r.client.Wait(); st.Status() != 0 || !strings.Contains(r.outB.String(), "client: 3 blocks moved") {
		t.Fatalf("client: %+v, stderr %q; log:\n%s", st, r.errB.String(), r.log)
	}
	if st := r.server.Wait(); st.Status() != 0 {
		t.Fatalf("server: %+v, stderr %q; log:\n%s", st, r.errA.String(), r.log)
	}
}

// TestClusterEndpointCarried: an endpoint sent on a channel that crosses
// nodes moves with its message: the client's three messages on the end it
// kept reach the server on the other node through the endpoint the server
// received, in order, and the client's close reaches it as Closed
// (testdata/cluster/carry.c). The sending gateway keeps the endpoint as the
// proxy of a new channel between the nodes; the receiving one makes a fresh
// channel of its contract, in its state, for the server.
func TestClusterEndpointCarried(t *testing.T) {
	src := []byte("contract Inner {\n  msg Hi(n u32)\n  initial final state S { imp Hi -> S }\n}\ncontract Carry {\n  msg Give(e exp<Inner>)\n  initial final state Open { imp Give -> Open }\n}\n")
	r := runAcrossNodes(t, "carry", "Carry", src)
	if st := r.server.Wait(); st.Status() != 0 || !strings.Contains(r.outA.String(), "server: 3 His and Closed on a carried endpoint") {
		t.Fatalf("server: %+v, stderr %q; log:\n%s", st, r.errA.String(), r.log)
	}
	if st := r.client.Wait(); st.Status() != 0 || !strings.Contains(r.outB.String(), "client: done") {
		t.Fatalf("client: %+v, stderr %q; log:\n%s", st, r.errB.String(), r.log)
	}
}
