package link

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkStream: 64-byte frames from node 1 to node 2 over TLS, as fast
// as Send takes them.
func BenchmarkStream(b *testing.B) { benchStream(b, true) }

// BenchmarkStreamPlain is BenchmarkStream without TLS.
func BenchmarkStreamPlain(b *testing.B) { benchStream(b, false) }

// BenchmarkStreamTCP is BenchmarkStreamPlain's baseline, bench cluster's
// tcp_stream_msgs_per_s: the same 64-byte messages, each with a 4-byte
// length, written through a bufio.Writer on a loopback TCP socket and read
// back one by one through a bufio.Reader on the other end.
func BenchmarkStreamTCP(b *testing.B) { benchStreamBaseline(b, false) }

// BenchmarkStreamTLS is BenchmarkStream's baseline, bench cluster's
// tls_stream_msgs_per_s: BenchmarkStreamTCP through crypto/tls (TLS 1.3,
// the cluster's certificates, full-size records as the link has).
func BenchmarkStreamTLS(b *testing.B) { benchStreamBaseline(b, true) }

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

func benchStreamBaseline(b *testing.B, withTLS bool) {
	streamBaseline(b, withTLS, b.N, b.ResetTimer)
}

// streamBaseline sends msgs messages as benchStreamBaseline does, calling
// started once the connection is up.
func streamBaseline(b testing.TB, withTLS bool, msgs int, started func()) {
	c, s := tcpPair(b)
	if withTLS {
		dir := b.TempDir()
		if err := GenerateCerts(dir, []uint64{1, 2}); err != nil {
			b.Fatal(err)
		}
		t1, _ := LoadTLS(dir, 1)
		t2, _ := LoadTLS(dir, 2)
		t1.ServerName, t1.DynamicRecordSizingDisabled = NodeName(2), true
		t2.ClientAuth, t2.DynamicRecordSizingDisabled = tls.RequireAndVerifyClientCert, true
		tc, ts := tls.Client(c, t1), tls.Server(s, t2)
		done := make(chan error, 1)
		go func() { done <- ts.Handshake() }()
		if err := tc.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		c, s = tc, ts
	}
	const size = 64
	done := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(s, 64<<10)
		var hdr [4]byte
		buf := make([]byte, size)
		for i := 0; i < msgs; i++ {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				done <- err
				return
			}
			if _, err := io.ReadFull(r, buf[:binary.BigEndian.Uint32(hdr[:])]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	w := bufio.NewWriterSize(c, 64<<10)
	msg := binary.BigEndian.AppendUint32(nil, size)
	msg = append(msg, make([]byte, size)...)
	started()
	for i := 0; i < msgs; i++ {
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// tcpPair returns the two ends of a loopback TCP connection, closed at the
// benchmark's end.
func tcpPair(b testing.TB) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, _ := ln.Accept()
		accepted <- s
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c, s
}
