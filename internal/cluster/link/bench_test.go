package link

import (
	"testing"
	"time"
)

// BenchmarkStream: 64-byte frames from node 1 to node 2 over TLS, as fast
// as Send takes them.
func BenchmarkStream(b *testing.B) { benchStream(b, true) }

// BenchmarkStreamPlain is BenchmarkStream without TLS.
func BenchmarkStreamPlain(b *testing.B) { benchStream(b, false) }

// BenchmarkPingPong: 8 bytes from node 1 to node 2 and back, each side's
// handler sending the next (the sessions' readers and Send): one op is a
// round trip. It is bench cluster's link_pingpong_ns.
func BenchmarkPingPong(b *testing.B) { benchPingPong(b, true) }

// BenchmarkPingPongPlain is BenchmarkPingPong without TLS.
func BenchmarkPingPongPlain(b *testing.B) { benchPingPong(b, false) }

// benchPair starts nodes 1 and 2, linked, with TLS when withTLS.
func benchPair(b *testing.B, withTLS bool) (*Node, *Node) {
	dir := b.TempDir()
	if err := GenerateCerts(dir, []uint64{1, 2}); err != nil {
		b.Fatal(err)
	}
	t1, _ := LoadTLS(dir, 1)
	t2, _ := LoadTLS(dir, 2)
	if !withTLS {
		t1, t2 = nil, nil
	}
	quiet := func(string, ...any) {}
	n1, err := Start(Config{ID: 1, Listen: "127.0.0.1:0", TLS: t1, Logf: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n1.Close() })
	n2, err := Start(Config{ID: 2, Listen: "127.0.0.1:0", TLS: t2, Logf: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n2.Close() })
	n1.AddPeer(2, n2.Addr())
	for len(n1.Peers()) == 0 || len(n2.Peers()) == 0 {
		time.Sleep(time.Millisecond) // waiting for the link, not timing
	}
	return n1, n2
}

func benchStream(b *testing.B, withTLS bool) {
	n1, n2 := benchPair(b, withTLS)
	done := make(chan struct{})
	got := 0
	n2.Handle(1, func(uint64, []byte) {
		if got++; got == b.N {
			close(done)
		}
	})
	payload := make([]byte, 64)
	b.ResetTimer()
	for i := 0; i < b.N; {
		if n1.Send(2, 1, payload) == ErrQueueFull {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		i++
	}
	<-done
}

func benchPingPong(b *testing.B, withTLS bool) {
	n1, n2 := benchPair(b, withTLS)
	n2.Handle(1, func(from uint64, p []byte) { n2.Send(from, 1, p) })
	done := make(chan struct{})
	left := b.N
	n1.Handle(1, func(from uint64, p []byte) {
		if left--; left == 0 {
			close(done)
			return
		}
		n1.Send(2, 1, p)
	})
	b.ResetTimer()
	if err := n1.Send(2, 1, make([]byte, 8)); err != nil {
		b.Fatal(err)
	}
	<-done
}
