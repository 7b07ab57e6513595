package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"isle"
	"isle/internal/cluster/link"
)

// The cluster suite: the links between nodes (internal/cluster/link) on
// loopback, beside plain TCP between two goroutines on two sockets, every
// row measured in the same run.
const (
	clusterRounds    = 20000 // ping-pong round trips a session
	clusterWarmup    = 2000
	clusterSessions  = 5 // each row is the best session
	clusterMsgs      = 500000
	clusterMsgSize   = 64 // bytes of payload of a batched message
	clusterKind      = 1
	clusterSIPRounds = 2000 // SIP ping-pong round trips across nodes a session
)

// Cluster runs the cluster suite.
func Cluster(log io.Writer) ([]Row, error) {
	dir, err := os.MkdirTemp("", "isle-bench-cluster")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := link.GenerateCerts(dir, []uint64{1, 2}); err != nil {
		return nil, err
	}
	progs, err := buildIPCPrograms(dir)
	if err != nil {
		return nil, err
	}
	pair := func(tlsOn bool) (*link.Node, *link.Node, error) { return linkPair(dir, tlsOn, log) }
	var tcpPP, sipPP, sipMed, linkPP, plainPP, tcpStream, linkStream []float64
	for s := 0; s < clusterSessions; s++ {
		v, err := tcpPingPong(clusterRounds)
		if err != nil {
			return nil, fmt.Errorf("tcp ping-pong: %v", err)
		}
		tcpPP = append(tcpPP, v)
		mean, med, err := clusterSIPPingPong(dir, progs, log)
		if err != nil {
			return nil, fmt.Errorf("cluster SIP ping-pong: %v", err)
		}
		sipPP, sipMed = append(sipPP, mean), append(sipMed, med)
		if v, err = linkPingPong(pair, true, clusterRounds); err != nil {
			return nil, fmt.Errorf("cluster ping-pong: %v", err)
		}
		linkPP = append(linkPP, v)
		if v, err = linkPingPong(pair, false, clusterRounds); err != nil {
			return nil, fmt.Errorf("cluster ping-pong (plain): %v", err)
		}
		plainPP = append(plainPP, v)
		if v, err = tcpStreamRate(clusterMsgs, clusterMsgSize); err != nil {
			return nil, fmt.Errorf("tcp stream: %v", err)
		}
		tcpStream = append(tcpStream, v)
		if v, err = linkStreamRate(pair, clusterMsgs, clusterMsgSize); err != nil {
			return nil, fmt.Errorf("cluster stream: %v", err)
		}
		linkStream = append(linkStream, v)
		fmt.Fprintf(log, "session %d: tcp %.0f ns, SIPs across nodes %.0f ns (median %.0f), link %.0f ns (plain %.0f), stream tcp %.0f, link %.0f msgs/s\n",
			s+1, tcpPP[s], sipPP[s], sipMed[s], linkPP[s], plainPP[s], tcpStream[s], linkStream[s])
	}
	tpp, spp, smed, lpp, ppp := minOf(tcpPP), minOf(sipPP), minOf(sipMed), minOf(linkPP), minOf(plainPP)
	ts, ls := maxOf(tcpStream), maxOf(linkStream)
	return []Row{
		{"tcp_pingpong_ns", tpp, "ns"},
		{"cluster_pingpong_ns", spp, "ns"},
		{"cluster_pingpong_median_ns", smed, "ns"},
		{"cluster_pingpong_over_tcp", spp / tpp, "x (target <= 1.5)"},
		{"link_pingpong_ns", lpp, "ns"},
		{"link_pingpong_over_tcp", lpp / tpp, "x"},
		{"link_pingpong_plain_ns", ppp, "ns"},
		{"tcp_stream_msgs_per_s", ts, "msgs/s"},
		{"cluster_batch_msgs_per_s", ls, "msgs/s"},
		{"cluster_batch_over_tcp_stream", ls / ts, "x (target >= 0.5)"},
	}, nil
}

// clusterSIPPingPong boots two one-core machines joined by a TLS link on
// loopback, runs examples/pingpong's server on node 1 and its client on node
// 2, and returns the client's mean round trip and its median over batches.
// Each node as its own process would have cores + 1 = 2 processors; the two
// share this one, so it gets 4.
func clusterSIPPingPong(dir string, progs map[string]string, log io.Writer) (mean, median float64, err error) {
	one, two, err := linkPair(dir, true, log)
	if err != nil {
		return 0, 0, err
	}
	defer one.Close()
	defer two.Close()
	root, err := sourceRoot()
	if err != nil {
		return 0, 0, err
	}
	src, err := os.ReadFile(filepath.Join(root, "examples", "contracts", "pingpong.contract"))
	if err != nil {
		return 0, 0, err
	}
	ctx := context.Background()
	var outA, outB, errs bytes.Buffer
	boot := func(cl isle.ClusterConfig, out *bytes.Buffer) (*isle.Machine, error) {
		return isle.Boot(ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).
			WithCacheDir(filepath.Join(dir, "cache")).WithStdio(strings.NewReader(""), out, &errs).WithCluster(cl))
	}
	a, err := boot(isle.ClusterConfig{Link: one}, &outA)
	if err != nil {
		return 0, 0, err
	}
	defer a.Stop(ctx)
	b, err := boot(isle.ClusterConfig{Link: two, Remote: []isle.RemoteName{{Name: "pingpong", Node: 1, Source: src, Contract: "PingPong"}}}, &outB)
	if err != nil {
		return 0, 0, err
	}
	defer b.Stop(ctx)
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	sp, err := a.Load(ctx, progs["server"])
	if err != nil {
		return 0, 0, err
	}
	cp, err := b.Load(ctx, progs["client"])
	if err != nil {
		return 0, 0, err
	}
	s, err := a.Spawn(sp, []string{"server", "1"})
	if err != nil {
		return 0, 0, err
	}
	c, err := b.Spawn(cp, []string{"client", strconv.Itoa(clusterSIPRounds)})
	if err != nil {
		return 0, 0, err
	}
	if st := c.Wait(); st.Status() != 0 {
		return 0, 0, fmt.Errorf("client exited with %d: %s", st.Status(), strings.TrimSpace(errs.String()))
	}
	s.Wait()
	m := nsPerRound.FindStringSubmatch(outB.String())
	if m == nil {
		return 0, 0, fmt.Errorf("the client printed %q", outB.String())
	}
	mean, _ = strconv.ParseFloat(m[1], 64)
	median, _ = strconv.ParseFloat(m[2], 64)
	return mean, median, nil
}

func minOf(v []float64) float64 { s := append([]float64{}, v...); sort.Float64s(s); return s[0] }
func maxOf(v []float64) float64 { s := append([]float64{}, v...); sort.Float64s(s); return s[len(s)-1] }

// linkPair starts nodes 1 and 2 linked on loopback, with the certificates
// in dir when tlsOn.
func linkPair(dir string, tlsOn bool, log io.Writer) (*link.Node, *link.Node, error) {
	logf := func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }
	cfg := func(id uint64) (link.Config, error) {
		c := link.Config{ID: id, Listen: "127.0.0.1:0", Logf: logf}
		if tlsOn {
			t, err := link.LoadTLS(dir, id)
			if err != nil {
				return c, err
			}
			c.TLS = t
		}
		return c, nil
	}
	c1, err := cfg(1)
	if err != nil {
		return nil, nil, err
	}
	a, err := link.Start(c1)
	if err != nil {
		return nil, nil, err
	}
	c2, err := cfg(2)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	c2.Peers = map[uint64]string{1: a.Addr()}
	b, err := link.Start(c2)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	a.AddPeer(2, b.Addr())
	deadline := time.Now().Add(10 * time.Second)
	for len(a.Peers()) == 0 || len(b.Peers()) == 0 {
		if time.Now().After(deadline) {
			a.Close()
			b.Close()
			return nil, nil, fmt.Errorf("nodes did not link")
		}
		time.Sleep(time.Millisecond) // waiting for the link to come up, not timing
	}
	return a, b, nil
}

// linkPingPong: node 1 sends 8 bytes to node 2, whose handler sends them
// back, whose handler sends the next: the mean round trip.
func linkPingPong(pair func(bool) (*link.Node, *link.Node, error), tlsOn bool, rounds int) (float64, error) {
	a, b, err := pair(tlsOn)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	defer b.Close()
	b.Handle(clusterKind, func(from uint64, p []byte) { b.Send(from, clusterKind, p) })
	done := make(chan time.Duration, 1)
	left := clusterWarmup + rounds
	var start time.Time
	a.Handle(clusterKind, func(from uint64, p []byte) {
		left--
		if left == rounds {
			start = time.Now()
		}
		if left == 0 {
			done <- time.Since(start)
			return
		}
		a.Send(2, clusterKind, p)
	})
	if err := a.Send(2, clusterKind, make([]byte, 8)); err != nil {
		return 0, err
	}
	select {
	case d := <-done:
		return float64(d.Nanoseconds()) / float64(rounds), nil
	case <-time.After(60 * time.Second):
		return 0, fmt.Errorf("ping-pong stalled")
	}
}

// linkStreamRate: node 1 sends msgs messages of size bytes as fast as Send
// takes them; the rate at which node 2 receives them.
func linkStreamRate(pair func(bool) (*link.Node, *link.Node, error), msgs, size int) (float64, error) {
	a, b, err := pair(true)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	defer b.Close()
	done := make(chan time.Time, 1)
	got := 0
	b.Handle(clusterKind, func(uint64, []byte) {
		if got++; got == msgs {
			done <- time.Now()
		}
	})
	payload := make([]byte, size)
	start := time.Now()
	for i := 0; i < msgs; {
		if err := a.Send(2, clusterKind, payload); err == link.ErrQueueFull {
			time.Sleep(50 * time.Microsecond) // back-pressure: the queue holds 64 MiB
			continue
		} else if err != nil {
			return 0, err
		}
		i++
	}
	select {
	case end := <-done:
		return float64(msgs) / end.Sub(start).Seconds(), nil
	case <-time.After(60 * time.Second):
		return 0, fmt.Errorf("stream stalled at %d of %d", got, msgs)
	}
}

// tcpConnPair returns the two ends of a loopback TCP connection.
func tcpConnPair() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	s := <-accepted
	if s == nil {
		c.Close()
		return nil, nil, fmt.Errorf("accept failed")
	}
	return c, s, nil
}

// tcpPingPong: 8 bytes back and forth between two goroutines on the two
// sockets of a loopback connection: the mean round trip.
func tcpPingPong(rounds int) (float64, error) {
	c, s, err := tcpConnPair()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	defer s.Close()
	go func() {
		var b [8]byte
		for {
			if _, err := io.ReadFull(s, b[:]); err != nil {
				return
			}
			if _, err := s.Write(b[:]); err != nil {
				return
			}
		}
	}()
	var b [8]byte
	var start time.Time
	for i := 0; i < clusterWarmup+rounds; i++ {
		if i == clusterWarmup {
			start = time.Now()
		}
		if _, err := c.Write(b[:]); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(rounds), nil
}

// tcpStreamRate: msgs messages of size bytes, each with a 4-byte length as a
// link frame has, written through a bufio.Writer and read back one by one on
// the other socket: messages per second.
func tcpStreamRate(msgs, size int) (float64, error) {
	c, s, err := tcpConnPair()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	defer s.Close()
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
	msg := binary.BigEndian.AppendUint32(nil, uint32(size))
	msg = append(msg, make([]byte, size)...)
	start := time.Now()
	for i := 0; i < msgs; i++ {
		if _, err := w.Write(msg); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := <-done; err != nil {
		return 0, err
	}
	return float64(msgs) / time.Since(start).Seconds(), nil
}
