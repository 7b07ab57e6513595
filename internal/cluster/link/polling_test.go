package link

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// waitParked waits until n's readers wait for its poller to stop: the
// state the tests below start from, not a timing.
func waitParked(t *testing.T, n *Node, want int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n.parked.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d readers wait for the poller; want %d", n.parked.Load(), want)
		}
		time.Sleep(time.Millisecond) // waiting for a state, not timing
	}
}

// pollUntilParked sets b polling and brings its reader (linked to a) to
// leave the socket to the poller: a reader already waiting on the socket
// leaves it at the next frame, so a sends one (of a kind nobody handles)
// and b polls until its reader waits for the poller.
func pollUntilParked(t *testing.T, a, b *Node) {
	t.Helper()
	b.SetPolling(true)
	if err := a.Send(b.ID(), 0x7f, []byte("wake")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); b.parked.Load() == 0; {
		b.Poll()
		if time.Now().After(deadline) {
			t.Fatal("the reader never left the socket to the poller")
		}
	}
}

// TestPollingLeavesSocketsToPoller: while a node's poller says it polls
// (SetPolling), its session's reader does not read the socket: every frame
// that comes meanwhile, heartbeats included, is read by Poll. A reader that
// waited on the socket (in the runtime's poller, as before) would have been
// woken by each, and read some.
func TestPollingLeavesSocketsToPoller(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		const count = 300
		got := 0
		b.Handle(9, func(uint64, []byte) { got++ }) // the handlers run on Poll's goroutine or under the read side
		pollUntilParked(t, a, b)
		defer b.SetPolling(false)
		before := b.Stats()
		for i := 0; i < count; i++ {
			if err := a.Send(2, 9, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for deadline := time.Now().Add(10 * time.Second); got < count; {
			b.Poll()
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d frames arrived", got, count)
			}
		}
		after := b.Stats()
		if read := after.FramesRead - before.FramesRead; read != 0 {
			t.Fatalf("the reader read %d frames while the poller polled (the poller %d)", read, after.FramesPolled-before.FramesPolled)
		}
		if polled := after.FramesPolled - before.FramesPolled; polled < count {
			t.Fatalf("Poll read %d frames of %d", polled, count)
		}
	})
}

// TestUnpolledReaderReads: a frame that came while the poller said it
// polled, and that no Poll read, is read by the session's reader once the
// poller stops (SetPolling(false)).
func TestUnpolledReaderReads(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		in := listen(b, 9)
		pollUntilParked(t, a, b)
		before := b.Stats().FramesRead
		if err := a.Send(2, 9, []byte("left")); err != nil {
			t.Fatal(err)
		}
		s := (*b.live.Load())[0]
		for deadline := time.Now().Add(10 * time.Second); !s.nb.readableNow(); {
			if time.Now().After(deadline) {
				t.Fatal("the frame never reached the socket")
			}
			time.Sleep(time.Millisecond) // waiting for a state, not timing
		}
		select {
		case f := <-in.c:
			t.Fatalf("a frame (%q) was read while the poller said it polled", f.payload)
		default:
		}
		if read := b.Stats().FramesRead - before; read != 0 {
			t.Fatalf("the reader read %d frames while the poller said it polled", read)
		}
		b.SetPolling(false)
		if f := in.next(t); string(f.payload) != "left" {
			t.Fatalf("got %q", f.payload)
		}
	})
}

// TestPollerGoneReaderReads: a poller that stops calling Poll without
// saying so (SetPolling(false)), as a gateway whose machine stopped while
// it polled, holds the sockets for pollLease at most: the session's reader
// then reads the frames that come, and every later one, while no Poll is
// called. Before the lease, the reader waited for the poller for ever and
// the session was lost, again and again, for nothing heard.
func TestPollerGoneReaderReads(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		in := listen(b, 9)
		pollUntilParked(t, a, b) // and no Poll from here on
		defer b.SetPolling(false)
		before := b.Stats().FramesRead
		for i := 0; i < 3; i++ {
			if err := a.Send(2, 9, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			if f := in.next(t); len(f.payload) != 1 || f.payload[0] != byte(i) {
				t.Fatalf("frame %d: got %q", i, f.payload)
			}
		}
		// At least the three (the wake frame of pollUntilParked may be
		// among them, when no Poll read it before the reader parked).
		if read := b.Stats().FramesRead - before; read < 3 {
			t.Fatalf("the reader read %d frames of 3", read)
		}
	})
}

// TestPollingSilentPeerEnds: a peer that goes silent after its handshake
// (no frame, no heartbeat) loses its session after deadAfter even while
// the node's poller polls, when the reader does not wait on the socket.
func TestPollingSilentPeerEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out deadAfter")
	}
	logs := newLogBuf()
	b := start(t, Config{ID: 2, Logf: logs.logf})
	down := make(chan uint64, 1)
	b.OnPeerDown(func(p uint64) { down <- p })
	b.SetPolling(true)
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := writeHandshake(c, kindHello, hello{id: 1, incarnation: 7, epoch: 1}.encode()); err != nil {
		t.Fatal(err)
	}
	if _, err := readHandshake(c, kindWelcome); err != nil {
		t.Fatal(err)
	}
	waitParked(t, b, 1)
	began := time.Now()
	for {
		b.Poll()
		select {
		case p := <-down:
			took := time.Since(began)
			if p != 1 || took < deadAfter-time.Second {
				t.Fatalf("peer %d down after %v", p, took)
			}
			if line := logs.wait(t, "lost the link to node 1"); !strings.Contains(line, "nothing heard") {
				t.Fatalf("logged %q", line)
			}
			return
		default:
		}
		if time.Since(began) > deadAfter+10*time.Second {
			t.Fatal("a silent peer's session did not end")
		}
		time.Sleep(time.Millisecond) // a poller's turn; the session's end is what is awaited
	}
}

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// TestSessionDescriptorsClosed: a session keeps its own duplicate of the
// socket's descriptor (nbConn.start), released by its reader, its writer
// and Close; once two linked nodes have closed, and after a session was
// lost and made again, no descriptor of theirs is left open.
func TestSessionDescriptorsClosed(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		before := openFDs(t)
		a, b := linkedPair(t, withTLS)
		in := listen(b, 9)
		s := (*a.live.Load())[0]
		a.endSession(s, errors.New("cut by the test"))
		waitLinked(t, a, 2)
		if err := a.Send(2, 9, []byte("again")); err != nil {
			t.Fatal(err)
		}
		in.next(t)
		a.Close()
		b.Close()
		if after := openFDs(t); after != before {
			t.Fatalf("%d descriptors open before the nodes, %d after", before, after)
		}
	})
}
