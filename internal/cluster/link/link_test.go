package link

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuf collects a node's log lines, and lets a test wait for one.
type logBuf struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func newLogBuf() *logBuf { return &logBuf{added: make(chan struct{}, 1)} }

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
}

// wait returns the first line containing every one of subs, failing the test
// after a few seconds without one.
func (l *logBuf) wait(t *testing.T, subs ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				l.mu.Unlock()
				return line
			}
		}
		lines := strings.Join(l.lines, "\n")
		l.mu.Unlock()
		select {
		case <-l.added:
		case <-deadline:
			t.Fatalf("no log line with %q; the log:\n%s", subs, lines)
		}
	}
}

// inbox receives the frames of one kind.
type inbox struct{ c chan frame }

type frame struct {
	from    uint64
	payload []byte
}

func listen(n *Node, kind byte) inbox {
	in := inbox{c: make(chan frame, 1<<16)}
	n.Handle(kind, func(from uint64, p []byte) { in.c <- frame{from, bytes.Clone(p)} }) // the link lends p
	return in
}

func (in inbox) next(t *testing.T) frame {
	t.Helper()
	select {
	case f := <-in.c:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame arrived")
		return frame{}
	}
}

func start(t *testing.T, cfg Config) *Node {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// waitLinked waits until n has a session with peer.
func waitLinked(t *testing.T, n *Node, peer uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, id := range n.Peers() {
			if id == peer {
				return
			}
		}
		time.Sleep(time.Millisecond) // polling a condition, not ordering events
	}
	t.Fatalf("node %d never linked to node %d", n.ID(), peer)
}

// TestSendBothWays: frames cross in both directions, whole and in order,
// and the lower node is the one that dialed.
func TestSendBothWays(t *testing.T) {
	a := start(t, Config{ID: 1})
	b := start(t, Config{ID: 2, Peers: map[uint64]string{1: a.Addr()}})
	a.AddPeer(2, b.Addr())
	inA, inB := listen(a, 7), listen(b, 7)
	const count = 2000
	for i := 0; i < count; i++ {
		p := binary.BigEndian.AppendUint32(nil, uint32(i))
		if err := a.Send(2, 7, p); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(1, 7, append(p, 'b')); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < count; i++ {
		f := inB.next(t)
		if f.from != 1 || binary.BigEndian.Uint32(f.payload) != uint32(i) || len(f.payload) != 4 {
			t.Fatalf("b got frame %d from %d: %x", i, f.from, f.payload)
		}
		f = inA.next(t)
		if f.from != 2 || binary.BigEndian.Uint32(f.payload) != uint32(i) || len(f.payload) != 5 {
			t.Fatalf("a got frame %d from %d: %x", i, f.from, f.payload)
		}
	}
}

// TestJoinByHint: a node that only the higher one knows of is asked, by a
// hint, to dial it, so a joining node reaches members that do not know it.
func TestJoinByHint(t *testing.T) {
	a := start(t, Config{ID: 1})
	b := start(t, Config{ID: 5, Peers: map[uint64]string{1: a.Addr()}})
	in := listen(a, 3)
	if err := b.Send(1, 3, []byte("join me")); err != nil {
		t.Fatal(err)
	}
	if f := in.next(t); f.from != 5 || string(f.payload) != "join me" {
		t.Fatalf("got %+v", f)
	}
	waitLinked(t, a, 5)
}

// TestPeerDownAndReconnect: closing a node ends its sessions (OnPeerDown on
// the other side), and a node started again at the same address is linked
// again and gets frames.
func TestPeerDownAndReconnect(t *testing.T) {
	a := start(t, Config{ID: 1})
	down := make(chan uint64, 4)
	a.OnPeerDown(func(p uint64) { down <- p })
	b := start(t, Config{ID: 2, Peers: map[uint64]string{1: a.Addr()}})
	addr := b.Addr()
	a.AddPeer(2, addr)
	waitLinked(t, a, 2)
	b.Close()
	select {
	case p := <-down:
		if p != 2 {
			t.Fatalf("down for %d", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnPeerDown after the peer closed")
	}
	b2 := start(t, Config{ID: 2, Listen: addr, Peers: map[uint64]string{1: a.Addr()}})
	in := listen(b2, 9)
	waitLinked(t, a, 2)
	if err := a.Send(2, 9, []byte("again")); err != nil {
		t.Fatal(err)
	}
	if f := in.next(t); string(f.payload) != "again" {
		t.Fatalf("got %q", f.payload)
	}
}

// TestBatched: many small frames sent at once go in few writes.
func TestBatched(t *testing.T) {
	a := start(t, Config{ID: 1})
	b := start(t, Config{ID: 2})
	a.AddPeer(2, b.Addr())
	waitLinked(t, a, 2)
	in := listen(b, 1)
	const count = 10000
	payload := bytes.Repeat([]byte{1}, 32)
	for i := 0; i < count; i++ {
		if err := a.Send(2, 1, payload); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < count; i++ {
		in.next(t)
	}
	st := a.Stats()
	if st.FramesOut < count || st.Writes*10 > st.FramesOut {
		t.Fatalf("%d frames in %d writes: want at least 10 frames a write", st.FramesOut, st.Writes)
	}
}

// TestBadInput: Send's errors and Start's.
func TestBadInput(t *testing.T) {
	if _, err := Start(Config{ID: 0, Listen: "127.0.0.1:0"}); err == nil {
		t.Fatal("id 0 accepted")
	}
	if _, err := Start(Config{ID: 1, Listen: "256.0.0.1:1"}); err == nil {
		t.Fatal("bad listen address accepted")
	}
	a := start(t, Config{ID: 1})
	if err := a.Send(9, 1, nil); err != ErrUnknownPeer {
		t.Fatalf("send to unknown peer: %v", err)
	}
	a.AddPeer(2, "127.0.0.1:1")
	if err := a.Send(2, 1, make([]byte, MaxFrame+1)); err != ErrTooLarge {
		t.Fatalf("oversized frame: %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Handle of a reserved kind did not panic")
			}
		}()
		a.Handle(KindReserved, func(uint64, []byte) {})
	}()
	a.Close()
	if err := a.Send(2, 1, nil); err != ErrClosed {
		t.Fatalf("send after close: %v", err)
	}
}

// TestUnansweredPeer: a peer address that does not answer gets one log line,
// however often it is retried.
func TestUnansweredPeer(t *testing.T) {
	l := newLogBuf()
	a := start(t, Config{ID: 1, Logf: l.logf})
	a.AddPeer(2, "127.0.0.1:1")
	line := l.wait(t, "cannot link to node 2 at 127.0.0.1:1", "does not answer")
	if strings.Contains(line, "\n") {
		t.Errorf("the error is more than one line: %q", line)
	}
	if slices.Contains(a.Peers(), 2) {
		t.Errorf("node 2 is linked, though its address does not answer: %v", a.Peers())
	}
}

// TestHintCrossingDial: a hint that node 2 sends while node 1's dial is
// being accepted (node 2 has not registered it yet) reaches node 1 after
// the session is up there: it must not end that session. (It did when a
// hint carried the epoch of the last session accepted rather than lost,
// and a stream then lost the frames queued on it.) The hint is built as
// dialHint builds it and sent after the session is up, and a hint for the
// live session's epoch, which says the peer lost it, does end it.
func TestHintCrossingDial(t *testing.T) {
	one := start(t, Config{ID: 1})
	downs := make(chan uint64, 4)
	one.OnPeerDown(func(p uint64) { downs <- p })
	two := start(t, Config{ID: 2, Peers: map[uint64]string{1: one.Addr()}})
	waitLinked(t, one, 2)
	waitLinked(t, two, 1)
	two.mu.Lock()
	p := two.peers[1]
	two.mu.Unlock()
	h, _ := two.hintHello(p)
	send := func(h hello) {
		c, err := net.Dial("tcp", one.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if refusal := welcomeOf(t, c, h); refusal != "" {
			t.Fatalf("hint refused: %s", refusal)
		}
	}
	send(h)
	in := listen(one, 5)
	if err := two.Send(1, 5, []byte("after the hint")); err != nil {
		t.Fatal(err)
	}
	if f := in.next(t); string(f.payload) != "after the hint" {
		t.Fatalf("got %q", f.payload)
	}
	select {
	case <-downs:
		t.Fatal("a hint for an older session ended the live one")
	default:
	}
	one.mu.Lock()
	epoch := one.peers[2].sess.epoch
	one.mu.Unlock()
	h.epoch = epoch
	send(h)
	select {
	case <-downs:
	case <-time.After(10 * time.Second):
		t.Fatal("a hint saying the peer lost the live session did not end it")
	}
}
