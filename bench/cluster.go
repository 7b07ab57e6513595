package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
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
	"sync"
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

// Cluster runs the cluster suite. Every row that claims a speed has its
// baseline beside it, measured in the same session: the SIP ping-pong and
// the link's over plain TCP beside tcp_pingpong_ns, those over TLS beside
// tls_pingpong_ns as well (8 bytes echoed through crypto/tls between two
// goroutines), the link's stream over TLS beside tcp_stream_msgs_per_s and
// beside tls_stream_msgs_per_s (the same messages through a bufio.Writer on
// a TLS connection), its plain stream beside tcp_stream_msgs_per_s.
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
	var r clusterRuns
	for s := 0; s < clusterSessions; s++ {
		if err := r.session(dir, progs, pair, log); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "session %d: %s\n", s+1, r.last())
	}
	return r.rows(), nil
}

// clusterRuns holds every session's figure of each row.
type clusterRuns struct {
	tcpPP, tcpMed, tlsPP, tlsMed, sipPP, sipMed, sipPlainPP, sipPlainMed, linkPP, plainPP []float64
	tcpStream, tlsStream, linkStream, plainStream                                         []float64
}

// session measures every row once, baselines first.
func (r *clusterRuns) session(dir string, progs map[string]string, pair func(bool) (*link.Node, *link.Node, error), log io.Writer) error {
	v, med, err := tcpPingPong(clusterRounds)
	if err != nil {
		return fmt.Errorf("tcp ping-pong: %v", err)
	}
	r.tcpPP, r.tcpMed = append(r.tcpPP, v), append(r.tcpMed, med)
	if v, med, err = tlsPingPong(dir, clusterRounds); err != nil {
		return fmt.Errorf("tls ping-pong: %v", err)
	}
	r.tlsPP, r.tlsMed = append(r.tlsPP, v), append(r.tlsMed, med)
	for _, tlsOn := range []bool{true, false} {
		mean, med, err := clusterSIPPingPong(dir, progs, tlsOn, log)
		if err != nil {
			return fmt.Errorf("cluster SIP ping-pong (TLS %v): %v", tlsOn, err)
		}
		if tlsOn {
			r.sipPP, r.sipMed = append(r.sipPP, mean), append(r.sipMed, med)
		} else {
			r.sipPlainPP, r.sipPlainMed = append(r.sipPlainPP, mean), append(r.sipPlainMed, med)
		}
	}
	if v, err = linkPingPong(pair, true, clusterRounds); err != nil {
		return fmt.Errorf("cluster ping-pong: %v", err)
	}
	r.linkPP = append(r.linkPP, v)
	if v, err = linkPingPong(pair, false, clusterRounds); err != nil {
		return fmt.Errorf("cluster ping-pong (plain): %v", err)
	}
	r.plainPP = append(r.plainPP, v)
	if v, err = tcpStreamRate(clusterMsgs, clusterMsgSize); err != nil {
		return fmt.Errorf("tcp stream: %v", err)
	}
	r.tcpStream = append(r.tcpStream, v)
	if v, err = tlsStreamRate(dir, clusterMsgs, clusterMsgSize); err != nil {
		return fmt.Errorf("tls stream: %v", err)
	}
	r.tlsStream = append(r.tlsStream, v)
	if v, err = linkStreamRate(pair, true, clusterMsgs, clusterMsgSize); err != nil {
		return fmt.Errorf("cluster stream: %v", err)
	}
	r.linkStream = append(r.linkStream, v)
	if v, err = linkStreamRate(pair, false, clusterMsgs, clusterMsgSize); err != nil {
		return fmt.Errorf("cluster stream (plain): %v", err)
	}
	r.plainStream = append(r.plainStream, v)
	return nil
}

// last describes the latest session.
func (r *clusterRuns) last() string {
	i := len(r.tcpPP) - 1
	return fmt.Sprintf("tcp %.0f ns (median %.0f), tls %.0f ns (median %.0f), SIPs across nodes %.0f ns (median %.0f; plain %.0f, median %.0f), link %.0f ns (plain %.0f), stream tcp %.0f, tls %.0f, link %.0f (plain %.0f) msgs/s",
		r.tcpPP[i], r.tcpMed[i], r.tlsPP[i], r.tlsMed[i], r.sipPP[i], r.sipMed[i], r.sipPlainPP[i], r.sipPlainMed[i], r.linkPP[i], r.plainPP[i],
		r.tcpStream[i], r.tlsStream[i], r.linkStream[i], r.plainStream[i])
}

// rows are the best session of each row, and the ratios of those.
func (r *clusterRuns) rows() []Row {
	tpp, lspp, tmed, lsmed := minOf(r.tcpPP), minOf(r.tlsPP), minOf(r.tcpMed), minOf(r.tlsMed)
	spp, smed, ppp, pmed := minOf(r.sipPP), minOf(r.sipMed), minOf(r.sipPlainPP), minOf(r.sipPlainMed)
	lpp, lplain := minOf(r.linkPP), minOf(r.plainPP)
	ts, tls, ls, ps := maxOf(r.tcpStream), maxOf(r.tlsStream), maxOf(r.linkStream), maxOf(r.plainStream)
	return []Row{
		{"tcp_pingpong_ns", tpp, "ns"},
		{"tcp_pingpong_median_ns", tmed, "ns"},
		{"tls_pingpong_ns", lspp, "ns"},
		{"tls_pingpong_median_ns", lsmed, "ns"},
		{"cluster_pingpong_ns", spp, "ns"},
		{"cluster_pingpong_median_ns", smed, "ns"},
		{"cluster_pingpong_over_tcp", spp / tpp, "x (target <= 1.5)"},
		{"cluster_pingpong_over_tls", spp / lspp, "x"},
		{"cluster_pingpong_median_over_tcp_median", smed / tmed, "x"},
		{"cluster_pingpong_median_over_tls_median", smed / lsmed, "x"},
		{"cluster_pingpong_plain_ns", ppp, "ns"},
		{"cluster_pingpong_plain_median_ns", pmed, "ns"},
		{"cluster_pingpong_plain_over_tcp", ppp / tpp, "x (target <= 1.5)"},
		{"cluster_pingpong_plain_median_over_tcp_median", pmed / tmed, "x"},
		{"link_pingpong_ns", lpp, "ns"},
		{"link_pingpong_over_tls", lpp / lspp, "x"},
		{"link_pingpong_plain_ns", lplain, "ns"},
		{"link_pingpong_plain_over_tcp", lplain / tpp, "x"},
		{"tcp_stream_msgs_per_s", ts, "msgs/s"},
		{"tls_stream_msgs_per_s", tls, "msgs/s"},
		{"cluster_batch_msgs_per_s", ls, "msgs/s"},
		{"cluster_batch_over_tcp_stream", ls / ts, "x (target >= 0.5)"},
		{"cluster_batch_over_tls_stream", ls / tls, "x"},
		{"cluster_batch_plain_msgs_per_s", ps, "msgs/s"},
		{"cluster_batch_plain_over_tcp_stream", ps / ts, "x (target >= 0.5)"},
	}
}

// clusterSIPPingPong boots two one-core machines joined by a link on
// loopback (mutual TLS when tlsOn), runs examples/pingpong's server on node
// 1 and, once the server has registered, its client on node 2, and returns
// the client's mean round trip and its median over batches.
// Each node as its own process would have cores + 1 = 2 processors; the two
// share this one, so it gets 4.
func clusterSIPPingPong(dir string, progs map[string]string, tlsOn bool, log io.Writer) (mean, median float64, err error) {
	one, two, err := linkPair(dir, tlsOn, log)
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
	registered := make(chan struct{})
	var once sync.Once
	boot := func(cl isle.ClusterConfig, out *bytes.Buffer, watch func(isle.NameEvent)) (*isle.Machine, error) {
		cfg := isle.NewConfig().WithCores(1).WithOversubscribe(true).
			WithCacheDir(filepath.Join(dir, "cache")).WithStdio(strings.NewReader(""), out, &errs).WithCluster(cl)
		if watch != nil {
			cfg = cfg.WithNameWatcher(watch)
		}
		return isle.Boot(ctx, cfg)
	}
	// The client must not look the name up before the server holds it: the
	// serving node's gateway would refuse the channel (no such name there).
	a, err := boot(isle.ClusterConfig{Link: one}, &outA, func(ev isle.NameEvent) {
		if ev.Registered && ev.Name == "pingpong" {
			once.Do(func() { close(registered) })
		}
	})
	if err != nil {
		return 0, 0, err
	}
	defer a.Stop(ctx)
	b, err := boot(isle.ClusterConfig{Link: two, Remote: []isle.RemoteName{{Name: "pingpong", Node: 1, Source: src, Contract: "PingPong"}}}, &outB, nil)
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
	select {
	case <-registered:
	case <-time.After(20 * time.Second):
		return 0, 0, fmt.Errorf("the server did not register: %s", strings.TrimSpace(errs.String()))
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
func linkStreamRate(pair func(bool) (*link.Node, *link.Node, error), tlsOn bool, msgs, size int) (float64, error) {
	a, b, err := pair(tlsOn)
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
// sockets of a loopback connection: the mean round trip, and the median
// over batches.
func tcpPingPong(rounds int) (mean, median float64, err error) {
	c, s, err := tcpConnPair()
	if err != nil {
		return 0, 0, err
	}
	return pingPongOn(c, s, rounds)
}

// pingPongOn is the ping-pong of tcpPingPong on the two ends c and s, which
// it closes: the mean round trip, and the median over batches of
// pingpongBatch rounds (the statistic examples/pingpong's client prints).
func pingPongOn(c, s net.Conn, rounds int) (mean, median float64, err error) {
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
	var start, b0 time.Time
	batches := make([]float64, 0, rounds/pingpongBatch)
	for i := 0; i < clusterWarmup+rounds; i++ {
		if i == clusterWarmup {
			start = time.Now()
			b0 = start
		}
		if _, err := c.Write(b[:]); err != nil {
			return 0, 0, err
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return 0, 0, err
		}
		if k := i + 1 - clusterWarmup; k > 0 && k%pingpongBatch == 0 {
			now := time.Now()
			batches = append(batches, float64(now.Sub(b0).Nanoseconds())/pingpongBatch)
			b0 = now
		}
	}
	mean = float64(time.Since(start).Nanoseconds()) / float64(rounds)
	sort.Float64s(batches)
	return mean, batches[len(batches)/2], nil
}

// tcpStreamRate: msgs messages of size bytes, each with a 4-byte length as a
// link frame has, written through a bufio.Writer and read back one by one on
// the other socket: messages per second.
func tcpStreamRate(msgs, size int) (float64, error) {
	c, s, err := tcpConnPair()
	if err != nil {
		return 0, err
	}
	return streamOn(c, s, msgs, size)
}

// streamOn is the stream of tcpStreamRate from c to s, which it closes.
func streamOn(c, s net.Conn, msgs, size int) (float64, error) {
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

// tlsConnPair returns the two ends of a loopback TCP connection with mutual
// TLS 1.3 between them, with the cluster's certificates in dir (node 1
// dials node 2) and full-size records as the link has.
func tlsConnPair(dir string) (net.Conn, net.Conn, error) {
	c, s, err := tcpConnPair()
	if err != nil {
		return nil, nil, err
	}
	cc, err1 := link.LoadTLS(dir, 1)
	sc, err2 := link.LoadTLS(dir, 2)
	if err1 != nil || err2 != nil {
		c.Close()
		s.Close()
		return nil, nil, fmt.Errorf("certificates: %v %v", err1, err2)
	}
	cc.ServerName, cc.DynamicRecordSizingDisabled = link.NodeName(2), true
	sc.ClientAuth, sc.DynamicRecordSizingDisabled = tls.RequireAndVerifyClientCert, true
	tc, ts := tls.Client(c, cc), tls.Server(s, sc)
	done := make(chan error, 1)
	go func() { done <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		c.Close()
		s.Close()
		return nil, nil, err
	}
	if err := <-done; err != nil {
		c.Close()
		s.Close()
		return nil, nil, err
	}
	return tc, ts, nil
}

// tlsPingPong is tcpPingPong through TLS.
func tlsPingPong(dir string, rounds int) (mean, median float64, err error) {
	c, s, err := tlsConnPair(dir)
	if err != nil {
		return 0, 0, err
	}
	return pingPongOn(c, s, rounds)
}

// tlsStreamRate is tcpStreamRate through TLS.
func tlsStreamRate(dir string, msgs, size int) (float64, error) {
	c, s, err := tlsConnPair(dir)
	if err != nil {
		return 0, err
	}
	return streamOn(c, s, msgs, size)
}
