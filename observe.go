package isle

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"isle/internal/kernel"
)

// Seeing a running machine from outside: a snapshot of every core's
// counters and SIPs (Machine.Snapshot), served on a control socket
// (WithControl: `isle run --control PATH`, read by `isle top PATH`) and as
// Prometheus metrics (WithMetrics, metrics.go). docs/top.md has the
// protocol.

// Limits of the control protocol.
const (
	// MaxControlRequest is the longest request line the control socket
	// reads; a longer one ends the connection.
	MaxControlRequest = 4 << 10
	// snapshotTimeout bounds how long a snapshot waits for the cores: a
	// core answers between two SIPs, so within a slice (3 ms) unless the
	// machine is stopping.
	snapshotTimeout = 2 * time.Second
)

// Snapshot is the machine's state at a moment: each core's counters, which
// only grow (rates are two snapshots' difference over their times), and
// its SIPs.
type Snapshot struct {
	Cores []CoreSnapshot `json:"cores"`
	SIPs  []SIPSnapshot  `json:"sips"` // every live SIP, by core then pid
}

// CoreSnapshot is one core in a snapshot.
type CoreSnapshot struct {
	Core        int    `json:"core"`
	At          int64  `json:"at_ns"`     // machine time of the core's answer (ns since boot)
	Busy        int64  `json:"busy_ns"`   // ns spent running SIPs since boot
	RunQueue    int    `json:"run_queue"` // runnable SIPs now
	Capacity    int64  `json:"capacity"`
	Switches    uint64 `json:"switches"`
	Preemptions uint64 `json:"preemptions"`
	MsgsSent    uint64 `json:"msgs_sent"`
	MsgsRecv    uint64 `json:"msgs_recv"`
	MigratedIn  uint64 `json:"migrated_in"`
	MigratedOut uint64 `json:"migrated_out"`
	Wasted      uint64 `json:"wasted_intervals"` // intervals idle while SIPs waited elsewhere (--wasted-bound)
	Sleeps      uint64 `json:"sleeps"`
}

// SIPSnapshot is one live SIP in a snapshot.
type SIPSnapshot struct {
	PID     int64  `json:"pid"`
	Name    string `json:"name"`
	Core    int    `json:"core"`
	State   string `json:"state"` // R runnable, S sleeping or blocked, D waiting for a service
	Nice    int    `json:"nice"`
	CPUTime int64  `json:"cpu_ns"` // ns run so far
	Msgs    uint64 `json:"msgs"`   // channel messages sent and received
}

// Snapshot asks every core for its counters and SIPs. It fails once the
// machine has stopped, or when ctx ends first.
func (m *Machine) Snapshot(ctx context.Context) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	ks, err := m.k.Snapshot(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	return snapshotOf(ks), nil
}

func snapshotOf(ks []kernel.CoreSnapshot) Snapshot {
	out := Snapshot{Cores: make([]CoreSnapshot, len(ks)), SIPs: []SIPSnapshot{}}
	for i, k := range ks {
		st := k.Stats
		out.Cores[i] = CoreSnapshot{Core: st.Core, At: k.At, Busy: st.Busy, RunQueue: k.RunQueue,
			Capacity: st.Capacity, Switches: st.Switches, Preemptions: st.Preemptions,
			MsgsSent: st.MsgsSent, MsgsRecv: st.MsgsRecv, MigratedIn: st.MigratedIn,
			MigratedOut: st.MigratedOut, Wasted: st.WastedIntervals, Sleeps: st.Sleeps}
		for _, s := range k.SIPs {
			out.SIPs = append(out.SIPs, SIPSnapshot{PID: s.PID, Name: s.Name, Core: s.Core,
				State: string(rune(s.State)), Nice: s.Nice, CPUTime: s.CPUTime, Msgs: s.Msgs})
		}
	}
	return out
}

// WithControl serves the control protocol (docs/top.md) on ln while the
// machine runs; Stop closes ln and every connection.
func (c Config) WithControl(ln net.Listener) Config { c.control = ln; return c }

// WithMetrics serves Prometheus metrics at /metrics on ln while the
// machine runs; Stop closes it.
func (c Config) WithMetrics(ln net.Listener) Config { c.metrics = ln; return c }

// servers are a machine's control and metrics servers.
//
// Ownership: set up by start, on the embedder's goroutine; mu guards conns
// and closed, touched by the accept loop, each connection's goroutine and
// Stop. No core takes it.
type servers struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	ln     net.Listener
	http   *http.Server
	wg     sync.WaitGroup
}

// serve starts the servers the config asks for.
func (m *Machine) serve() {
	if ln := m.cfg.control; ln != nil {
		m.servers.ln = ln
		m.servers.conns = map[net.Conn]struct{}{}
		m.servers.wg.Go(func() { m.acceptControl(ln) })
	}
	if ln := m.cfg.metrics; ln != nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/metrics", m.serveMetrics)
		m.servers.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		m.servers.wg.Go(func() { m.servers.http.Serve(ln) })
	}
}

// close stops the servers and waits for their goroutines.
func (s *servers) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
	}
	if s.http != nil {
		s.http.Close()
	}
	s.wg.Wait()
}

// track adds c to the open connections; false once the servers closed.
func (s *servers) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (m *Machine) acceptControl(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !m.servers.track(c, true) {
			c.Close()
			return
		}
		m.servers.wg.Go(func() {
			defer m.servers.track(c, false)
			defer c.Close()
			m.controlConn(c)
		})
	}
}

// controlRequest is one line a client sends.
type controlRequest struct {
	Op  string `json:"op"`  // "snapshot" or "kill"
	PID int64  `json:"pid"` // for kill
}

// controlReply is one line the machine answers.
type controlReply struct {
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// controlConn answers a connection's requests, one reply line each, until
// the client closes it or sends a line that is too long.
func (m *Machine) controlConn(c net.Conn) {
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 512), MaxControlRequest)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		if enc.Encode(m.answer(sc.Bytes())) != nil {
			return
		}
	}
}

// answer decides the reply to one request line.
func (m *Machine) answer(line []byte) controlReply {
	var req controlRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return controlReply{Error: "not a request: " + err.Error()}
	}
	switch req.Op {
	case "snapshot":
		s, err := m.Snapshot(context.Background())
		if err != nil {
			return controlReply{Error: err.Error()}
		}
		return controlReply{Snapshot: &s}
	case "kill":
		if err := m.Kill(req.PID); err != nil {
			return controlReply{Error: err.Error()}
		}
		return controlReply{}
	default:
		return controlReply{Error: fmt.Sprintf("unknown op %q (want snapshot or kill)", req.Op)}
	}
}

// ControlClient is a connection to a machine's control socket.
type ControlClient struct {
	c   net.Conn
	dec *json.Decoder
	enc *json.Encoder
}

// DialControl connects to the control socket at path.
func DialControl(path string) (*ControlClient, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &ControlClient{c: c, dec: json.NewDecoder(c), enc: json.NewEncoder(c)}, nil
}

func (cc *ControlClient) call(req controlRequest) (controlReply, error) {
	cc.c.SetDeadline(time.Now().Add(2 * snapshotTimeout))
	var rep controlReply
	if err := cc.enc.Encode(req); err != nil {
		return rep, err
	}
	if err := cc.dec.Decode(&rep); err != nil {
		return rep, err
	}
	if rep.Error != "" {
		return rep, errors.New(rep.Error)
	}
	return rep, nil
}

// Snapshot asks the machine for a snapshot.
func (cc *ControlClient) Snapshot() (Snapshot, error) {
	rep, err := cc.call(controlRequest{Op: "snapshot"})
	if err != nil {
		return Snapshot{}, err
	}
	if rep.Snapshot == nil {
		return Snapshot{}, errors.New("the machine answered without a snapshot")
	}
	return *rep.Snapshot, nil
}

// Kill asks the machine to kill SIP pid.
func (cc *ControlClient) Kill(pid int64) error {
	_, err := cc.call(controlRequest{Op: "kill", PID: pid})
	return err
}

// Close closes the connection.
func (cc *ControlClient) Close() error { return cc.c.Close() }
