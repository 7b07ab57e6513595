package link

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// linkedPair starts nodes 1 and 2, linked, with TLS when withTLS.
func linkedPair(t *testing.T, withTLS bool) (*Node, *Node) {
	t.Helper()
	var t1, t2 *tls.Config
	if withTLS {
		dir := certs(t, 1, 2)
		t1, t2 = loadTLS(t, dir, 1), loadTLS(t, dir, 2)
	}
	a := start(t, Config{ID: 1, TLS: t1})
	b := start(t, Config{ID: 2, TLS: t2, Peers: map[uint64]string{1: a.Addr()}})
	a.AddPeer(2, b.Addr())
	waitLinked(t, a, 2)
	waitLinked(t, b, 1)
	return a, b
}

func eachTransport(t *testing.T, fn func(t *testing.T, withTLS bool)) {
	t.Run("plain", func(t *testing.T) { fn(t, false) })
	t.Run("tls", func(t *testing.T) { fn(t, true) })
}

// TestPollWithEveryProcessorBusy: with one Go processor, held by a goroutine
// that never yields (a core spinning for a message), a frame that another
// node wrote still reaches that goroutine, through Queue and Flush on the
// sending side and Poll on the receiving one: no other goroutine (the
// session's writer or reader) had to run for it. The receiving side says it
// polls (SetPolling), so its reader has left the socket to Poll.
func TestPollWithEveryProcessorBusy(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		var inPoll, viaPoll, elsewhere atomic.Int32
		b.Handle(9, func(uint64, []byte) {
			if inPoll.Load() == 1 {
				viaPoll.Add(1)
			} else {
				elsewhere.Add(1)
			}
		})
		pollUntilParked(t, a, b)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		if err := a.Queue(2, 9, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		a.Flush()
		start := time.Now()
		inPoll.Store(1)
		for viaPoll.Load() == 0 && elsewhere.Load() == 0 && time.Since(start) < time.Second {
			b.Poll() // spins: no yield, no sleep
		}
		inPoll.Store(0)
		if viaPoll.Load() != 1 {
			t.Fatalf("the frame came through Poll %d times, otherwise %d times, within %v", viaPoll.Load(), elsewhere.Load(), time.Since(start))
		}
	})
}

// TestFlushInOrder: frames sent by Send (the writer goroutine writes them)
// and by Queue and Flush (the caller writes them, leaving what the socket
// does not take at once in the connection's backlog), small and larger than
// a socket's buffer, arrive whole and in the order they were queued.
func TestFlushInOrder(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		in := listen(b, 7)
		const count = 400
		sizes := []int{4, 100, 70 << 10, 3 << 20}
		payload := func(i int) []byte {
			p := make([]byte, sizes[i%len(sizes)])
			binary.BigEndian.PutUint32(p, uint32(i))
			for j := 4; j < len(p); j++ {
				p[j] = byte(i + j)
			}
			return p
		}
		go func() {
			for i := 0; i < count; i++ {
				var err error
				if i%3 == 0 {
					err = a.Send(2, 7, payload(i))
				} else {
					err = a.Queue(2, 7, payload(i))
					a.Flush()
				}
				for err == ErrQueueFull {
					time.Sleep(time.Millisecond) // back-pressure, not ordering
					err = a.Send(2, 7, payload(i))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for i := 0; i < count; i++ {
			f := in.next(t)
			if want := payload(i); !bytes.Equal(f.payload, want) {
				t.Fatalf("frame %d: %d bytes, numbered %d; want %d bytes", i, len(f.payload), binary.BigEndian.Uint32(f.payload), len(want))
			}
		}
	})
}

// TestStreamInOrder: a stream of small frames sent as fast as Send takes
// them, far more than the sockets hold while the reader is slowed by its
// consumer (the inbox), arrives whole and in order, each payload as it was
// sent (the reader reads each frame over the last one's payload, which the
// inbox's handler copied).
func TestStreamInOrder(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		in := listen(b, 7)
		const count = 300000
		payload := func(i int, p []byte) []byte {
			p = binary.BigEndian.AppendUint32(p[:0], uint32(i))
			for j := 4; j < 64; j++ {
				p = append(p, byte(i+j))
			}
			return p
		}
		go func() {
			var p []byte
			for i := 0; i < count; i++ {
				p = payload(i, p)
				err := a.Send(2, 7, p)
				for err == ErrQueueFull {
					time.Sleep(time.Millisecond) // back-pressure, not ordering
					err = a.Send(2, 7, p)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		var want []byte
		for i := 0; i < count; i++ {
			f := in.next(t)
			if want = payload(i, want); !bytes.Equal(f.payload, want) {
				t.Fatalf("frame %d: %d bytes, numbered %d; want frame %d", i, len(f.payload), binary.BigEndian.Uint32(f.payload), i)
			}
		}
		if st := a.Stats(); st.FramesOut < count {
			t.Fatalf("%d frames out, want at least %d", st.FramesOut, count)
		}
	})
}

// TestReaderWakes: in a ping-pong between the handlers of two nodes, no
// round waits for a heartbeat (500 ms) to wake a reader: a reader that
// finished reading just before the next frame came must still be woken by
// that frame (its wait peeks at the socket after the runtime resets the
// socket's readiness).
func TestReaderWakes(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		b.Handle(8, func(from uint64, p []byte) { b.Send(from, 8, p) })
		const rounds = 3000
		got := make(chan time.Time, 1)
		a.Handle(8, func(uint64, []byte) { got <- time.Now() })
		worst := time.Duration(0)
		for i := 0; i < rounds; i++ {
			sent := time.Now()
			if err := a.Send(2, 8, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			select {
			case at := <-got:
				worst = max(worst, at.Sub(sent))
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: no answer", i)
			}
		}
		if worst >= pingInterval/2 {
			t.Fatalf("the slowest of %d rounds took %v: a reader waited for a heartbeat", rounds, worst)
		}
		t.Logf("slowest round %v", worst)
	})
}

// TestReaderReadsOnceAFrame: in a ping-pong between the handlers of two
// nodes (no poller), a session's reader makes one read(2) a frame: it
// parks in the runtime's wait after a read that emptied the socket,
// without another read to hear EAGAIN, and peeks at nothing. Reading
// EAGAIN after each frame would make two. The slack allows for the rare
// wake-up for bytes already read (the runtime reports readiness that a
// read took meanwhile), for heartbeats and for the handshake's leftovers
// (TLS tickets).
func TestReaderReadsOnceAFrame(t *testing.T) {
	eachTransport(t, func(t *testing.T, withTLS bool) {
		a, b := linkedPair(t, withTLS)
		b.Handle(8, func(from uint64, p []byte) { b.Send(from, 8, p) })
		const rounds = 2000
		got := make(chan struct{}, 1)
		a.Handle(8, func(uint64, []byte) { got <- struct{}{} })
		a0, b0 := a.Stats(), b.Stats()
		for i := 0; i < rounds; i++ {
			if err := a.Send(2, 8, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: no answer", i)
			}
		}
		// A read is counted before the frame's handler runs (a drain's
		// frames only after): the frames are the handlers' 2 a round.
		a1, b1 := a.Stats(), b.Stats()
		reads := a1.Reads - a0.Reads + b1.Reads - b0.Reads
		frames := uint64(2 * rounds)
		if limit := frames + frames/10 + 8; reads > limit {
			t.Fatalf("%d read(2)s for %d frames (at most %d)", reads, frames, limit)
		}
		t.Logf("%d read(2)s for %d frames", reads, frames)
	})
}
