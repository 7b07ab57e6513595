package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"isle"
	"isle/internal/cluster"
	"isle/internal/cluster/link"
)

// nodeEvents is how many name events of the machine wait for the cluster
// at most; past it an event is dropped with a line on stderr.
const nodeEvents = 1024

// cmdNode is isle node: a machine that is a member of a cluster. It runs
// the node's Raft group over the links to the other nodes and, when given
// a program, runs it as isle run does, registering the names its SIPs
// register cluster-wide.
func cmdNode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	id := fs.Uint64("id", 0, "this node's id (not 0; an id removed from the cluster is never admitted again)")
	listen := fs.String("listen-peer", "", "TCP address (host:port) on which this node listens for the other nodes")
	peers := fs.String("peers", "", "found a new cluster of these members, this node included: ID=ADDR,... (read only while the node's log is empty)")
	join := fs.String("join", "", "join an existing cluster through these members: ID=ADDR,...")
	data := fs.String("data", "", "directory of the node's Raft log (default: isle-node-ID in the working directory)")
	certs := fs.String("certs", "", "directory of the cluster's certificates (isle cluster certs): the links are mutual TLS (empty: plain TCP)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long a join or a cluster-wide registration waits for a quorum")
	waitName := fs.String("wait-name", "", "print a line once NAME is registered cluster-wide, saying by which node")
	spawnOn := fs.Uint64("spawn-on", 0, "run the program on node ID instead: after --, a path in one of that node's preopens and its arguments (no run flags)")
	ps := fs.Bool("ps", false, "print the cluster's process table (every member's live SIPs) once this node is a member")
	expiry := fs.Duration("name-expiry", cluster.DefaultNameExpiry, "how long the leader goes without hearing from a node before it drops that node's names")
	ops := fs.Bool("ops", false, "answer name-table operations read on stdin, one a line (ID register|unregister|lookup NAME), on stdout (ID CODE [NODE]): for tests and scripts; needs no program")
	stay := fs.Bool("stay", false, "once the program has ended, stay a member of the cluster until SIGINT or SIGTERM (exit status: the program's)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle node --id ID --listen-peer ADDR (--peers ID=ADDR,... | --join ID=ADDR,...) [flags] [-- [run flags] PROGRAM.wasm [ARGS...]]\n       isle node ... --spawn-on ID [--ps] -- PATH [ARGS...]   (PATH in node ID's preopens)\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	n := nodeCmd{id: *id, stderr: stderr, timeout: *timeout, expiry: *expiry}
	if err := n.check(*listen, *peers, *join, data); err != nil {
		fmt.Fprintf(stderr, "isle node: %v (see isle node --help)\n", err)
		return exitUsage
	}
	if *ops && (fs.NArg() > 0 || *spawnOn != 0) {
		fmt.Fprintf(stderr, "isle node: --ops runs no program (see isle node --help)\n")
		return exitUsage
	}
	if err := n.start(*listen, *data, *certs); err != nil {
		fmt.Fprintf(stderr, "isle node %d: %v\n", n.id, err)
		return exitError
	}
	defer n.stop()
	// Caught from here on, so that a signal before serve (a --spawn-on's
	// answer, or the program's run with --stay) ends the node as serve does,
	// not by the signal's default action.
	n.sigs = make(chan os.Signal, 1)
	signal.Notify(n.sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(n.sigs)
	if len(n.joinVia) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
		err := n.g.Join(ctx, slices.Sorted(maps.Keys(n.joinVia)))
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "isle node %d: %v\n", n.id, err)
			return exitError
		}
	}
	if *waitName != "" {
		go n.waitFor(*waitName)
	}
	if *spawnOn != 0 || *ps {
		if code := n.remote(*spawnOn, fs.Args(), *ps); code != 0 {
			return code
		}
		return n.serve()
	}
	if *ops {
		go n.ops(os.Stdin, stdout)
	}
	if fs.NArg() == 0 {
		return n.serve()
	}
	return n.runProgram(fs.Args(), stdout, stderr, *stay)
}

// runProgram runs the program as isle run does, on a machine that is this
// node: its names are mirrored cluster-wide, its lookups of other nodes'
// names cross the gateway. With stay, the node serves on once it has ended.
func (n *nodeCmd) runProgram(args []string, stdout, stderr io.Writer, stay bool) int {
	mirrored := make(chan struct{})
	go n.mirror(mirrored)
	code := runWith(args, stdout, stderr, func(cfg isle.Config) isle.Config {
		return cfg.WithNameWatcher(n.onName).WithCluster(isle.ClusterConfig{Link: n.ln, Names: n.names, Client: n.client, Logf: n.logf})
	})
	close(n.events) // the machine has stopped: no more events
	<-mirrored      // the unregistrations at its end reach the cluster first
	if stay {
		n.logf("the program exited with status %d; staying a member", code)
		if n.serve() != 0 && code == 0 {
			code = exitError
		}
	}
	return code
}

// nodeCmd is the state of one isle node run. Immutable after start, but
// for what the mutex guards.
type nodeCmd struct {
	id       uint64
	stderr   io.Writer
	timeout  time.Duration
	expiry   time.Duration     // --name-expiry
	founders map[uint64]string // --peers
	joinVia  map[uint64]string // --join
	ln       *link.Node
	g        *cluster.Group
	events   chan isle.NameEvent
	names    *isle.RemoteNames       // other nodes' names, for the machine's gateway
	client   *isle.RemoteClient      // spawns and listings on other nodes
	known    map[string]cluster.Name // the table as last heard (owned by the group's goroutine: OnNames)
	lost     chan struct{}           // one of this node's names left the table (onTable to mirror)
	sigs     chan os.Signal          // SIGINT and SIGTERM, from start to exit
	mu       sync.Mutex              // serialises lines on stderr and the last membership printed
	shown    string
}

// check validates the flags.
func (n *nodeCmd) check(listen, peers, join string, data *string) error {
	var err error
	switch {
	case n.id == 0:
		return errors.New("--id: a node needs an id, not 0")
	case listen == "":
		return errors.New("--listen-peer: a node needs an address to listen on")
	}
	if n.founders, err = parseMembers("--peers", peers); err != nil {
		return err
	}
	if n.joinVia, err = parseMembers("--join", join); err != nil {
		return err
	}
	if len(n.founders) > 0 && len(n.joinVia) > 0 {
		return errors.New("--peers founds a cluster, --join joins one: give one of them")
	}
	if _, ok := n.founders[n.id]; len(n.founders) > 0 && !ok {
		return fmt.Errorf("--peers: the founding members must include this node (%d)", n.id)
	}
	if _, ok := n.joinVia[n.id]; ok {
		return fmt.Errorf("--join: a node cannot join through itself (%d)", n.id)
	}
	if *data == "" {
		*data = "isle-node-" + strconv.FormatUint(n.id, 10)
	}
	return nil
}

// parseMembers reads ID=ADDR,...
func parseMembers(flagName, s string) (map[uint64]string, error) {
	m := map[uint64]string{}
	if s == "" {
		return m, nil
	}
	for _, item := range strings.Split(s, ",") {
		ids, addr, ok := strings.Cut(strings.TrimSpace(item), "=")
		id, err := strconv.ParseUint(ids, 10, 64)
		if !ok || err != nil || id == 0 || addr == "" {
			return nil, fmt.Errorf("%s: %q is not ID=ADDR (an id above 0, a host:port)", flagName, item)
		}
		if _, dup := m[id]; dup {
			return nil, fmt.Errorf("%s: node %d given twice", flagName, id)
		}
		m[id] = addr
	}
	return m, nil
}

// start opens the links and the Raft group.
func (n *nodeCmd) start(listen, data, certs string) error {
	lc := link.Config{ID: n.id, Listen: listen, Peers: map[uint64]string{}, Logf: n.logf}
	for id, addr := range n.founders {
		lc.Peers[id] = addr
	}
	for id, addr := range n.joinVia {
		lc.Peers[id] = addr
	}
	if certs != "" {
		tc, err := link.LoadTLS(certs, n.id)
		if err != nil {
			return err
		}
		lc.TLS = tc
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("--data: %v", unwrapPath(err))
	}
	ln, err := link.Start(lc)
	if err != nil {
		return err
	}
	n.names, n.known, n.lost = &isle.RemoteNames{}, map[string]cluster.Name{}, make(chan struct{}, 1)
	isle.RefuseRemote(ln) // until a machine boots on the link
	n.client = isle.NewRemoteClient(ln)
	g, err := cluster.Start(cluster.Config{
		ID: n.id, Addr: ln.Addr(), Path: filepath.Join(data, "raft.db"), Transport: ln, Peers: n.founders,
		OnMembers: func(m map[uint64]string) {
			for id, addr := range m {
				ln.AddPeer(id, addr)
			}
			n.showMembers(m)
		},
		OnNames: n.onTable, NameExpiry: n.expiry,
	})
	if err != nil {
		ln.Close()
		return err
	}
	n.ln, n.g, n.events = ln, g, make(chan isle.NameEvent, nodeEvents)
	n.logf("listening on %s, log in %s", ln.Addr(), data)
	return nil
}

func (n *nodeCmd) stop() {
	n.g.Stop()
	n.ln.Close()
}

func (n *nodeCmd) logf(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.stderr, "isle node %d: %s\n", n.id, fmt.Sprintf(format, args...))
}

func (n *nodeCmd) showMembers(m map[uint64]string) {
	ids := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d=%s", id, m[id])
	}
	n.mu.Lock()
	same := b.String() == n.shown
	n.shown = b.String()
	n.mu.Unlock()
	if !same && len(ids) > 0 {
		n.logf("members %s", b.String())
	}
}

// serve runs a member without a program until SIGINT or SIGTERM, or until
// the group stops (this node removed, its log failing).
func (n *nodeCmd) serve() int {
	select {
	case sig := <-n.sigs:
		n.logf("%v: leaving (the cluster keeps this node as a member)", sig)
		return 0
	case <-n.g.Done():
		n.logf("%v", n.g.Err())
		return exitError
	}
}

// onName runs on a core's kernel loop: it only hands the event over.
func (n *nodeCmd) onName(ev isle.NameEvent) {
	select {
	case n.events <- ev:
	default:
		n.logf("%s: too many names waiting for the cluster; not registered cluster-wide", ev.Name)
	}
}

// mirror registers the machine's names cluster-wide, one at a time, in the
// order the machine made them, until the machine has stopped.
// The names it registered cluster-wide (mine, owned by this goroutine) are
// registered again when the table loses them while their SIPs still hold
// them: the leader expired them while this node was unheard of (stopped,
// cut off) for the name expiry.
func (n *nodeCmd) mirror(done chan<- struct{}) {
	defer close(done)
	mine := map[string]isle.NameEvent{}
	for {
		select {
		case ev, ok := <-n.events:
			if !ok {
				return
			}
			delete(mine, ev.Name)
			if n.mirrorOne(ev) && ev.Registered {
				mine[ev.Name] = ev
			}
		case <-n.lost:
			n.reregister(mine)
		case <-n.g.Done():
			return
		}
	}
}

// mirrorOne registers or unregisters ev's name cluster-wide, with a line,
// and reports whether it took effect.
func (n *nodeCmd) mirrorOne(ev isle.NameEvent) bool {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	var err error
	if ev.Registered {
		err = n.register(ctx, ev)
	} else {
		err = n.g.Unregister(ctx, ev.Name)
	}
	switch {
	case err == nil && ev.Registered:
		n.logf("%s (contract %s, pid %d) registered cluster-wide", ev.Name, ev.Contract, ev.PID)
	case err == nil:
		n.logf("%s unregistered cluster-wide", ev.Name)
	case errors.Is(err, cluster.ErrExists):
		n.logf("%s: registered on this machine only: another node holds the name cluster-wide", ev.Name)
	default:
		n.logf("%s: %v", ev.Name, err)
	}
	return err == nil
}

// reregister registers again those of mine that the table no longer has.
func (n *nodeCmd) reregister(mine map[string]isle.NameEvent) {
	for _, name := range slices.Sorted(maps.Keys(mine)) {
		ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
		v, ok, err := n.g.Lookup(ctx, name)
		cancel()
		if err != nil || ok && v.Node == n.id {
			continue
		}
		n.logf("%s: dropped from the cluster's table while this node was unheard of; registering it again", name)
		if !n.mirrorOne(mine[name]) {
			delete(mine, name)
		}
	}
}

// onTable runs on the group's goroutine at each change of the cluster's
// name table: the names of other nodes become the machine's remote names,
// served by its gateway, so that a lookup here reaches them. Each name that
// comes or goes gets a line.
func (n *nodeCmd) onTable(names map[string]cluster.Name) {
	var remote []isle.RemoteName
	for _, name := range slices.Sorted(maps.Keys(names)) {
		v := names[name]
		if v.Node == n.id {
			continue
		}
		if old, ok := n.known[name]; !ok || old != v {
			n.logf("%s (contract %s) is served by node %d", name, v.Contract, v.Node)
		}
		if v.Source != "" {
			remote = append(remote, isle.RemoteName{Name: name, Node: v.Node, Source: []byte(v.Source), Contract: v.Contract})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(n.known)) {
		v := n.known[name]
		if _, ok := names[name]; ok {
			continue
		}
		if v.Node != n.id {
			n.logf("%s of node %d is gone from the cluster's name table", name, v.Node)
			continue
		}
		select { // one of this node's: mirror checks whether its SIP still holds it
		case n.lost <- struct{}{}:
		default:
		}
	}
	n.known = names
	n.names.Set(remote)
}

// register registers ev's name cluster-wide. A name this node already
// holds there is a stale entry (the machine's own table has just let a SIP
// register it, so no SIP of this run holds it): left by this node's run
// before a restart, or by an unregistration that did not reach the
// cluster. It is replaced.
func (n *nodeCmd) register(ctx context.Context, ev isle.NameEvent) error {
	v := cluster.Name{Node: n.id, Endpoint: uint64(ev.PID), Contract: ev.Contract, Source: ev.Source}
	err := n.g.Register(ctx, ev.Name, v)
	if !errors.Is(err, cluster.ErrExists) {
		return err
	}
	if old, ok, lerr := n.g.Lookup(ctx, ev.Name); lerr != nil || !ok || old.Node != n.id {
		return err
	}
	if err := n.g.Unregister(ctx, ev.Name); err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return err
	}
	return n.g.Register(ctx, ev.Name, v)
}

// waitFor prints a line once name is registered cluster-wide.
func (n *nodeCmd) waitFor(name string) {
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		v, ok, err := n.g.Lookup(ctx, name)
		cancel()
		if err == nil && ok {
			n.logf("%s is registered by node %d (contract %s)", name, v.Node, v.Contract)
			return
		}
		select {
		case <-tk.C:
		case <-n.g.Done():
			return
		}
	}
}
