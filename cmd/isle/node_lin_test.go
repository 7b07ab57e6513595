package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The cluster-wide name table's history, made through isle node processes
// (--ops) while nodes are SIGKILLed and restarted from their logs and
// SIGSTOPped and continued, checked with porcupine against a table in which
// each name has at most one holder. The same model as the in-process
// TestLinearizableUnderFaults (internal/cluster).

type linOp struct {
	Op   string // "register", "unregister", "lookup"
	Name string
	Node uint64
}

type linOut struct {
	Code  string // "ok", "exists", "notfound", "notowner", "unknown" (a write with no answer)
	Owner uint64 // lookup: the holder (0: none)
}

var linModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h {
			by[op.Input.(linOp).Name] = append(by[op.Input.(linOp).Name], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return uint64(0) },
	Step: func(state, input, output any) (bool, any) {
		owner, in, out := state.(uint64), input.(linOp), output.(linOut)
		switch {
		case in.Op == "lookup":
			return owner == out.Owner, owner
		case out.Code == "unknown" && in.Op == "register" && owner == 0:
			return true, in.Node
		case out.Code == "unknown" && in.Op == "unregister" && owner == in.Node:
			return true, uint64(0)
		case out.Code == "unknown":
			return true, owner
		case in.Op == "register" && out.Code == "ok":
			return owner == 0, in.Node
		case in.Op == "register" && out.Code == "exists":
			return owner != 0, owner
		case in.Op == "unregister" && out.Code == "ok":
			return owner == in.Node, uint64(0)
		case in.Op == "unregister" && out.Code == "notfound":
			return owner == 0, owner
		case in.Op == "unregister" && out.Code == "notowner":
			return owner != 0 && owner != in.Node, owner
		}
		return false, owner
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linOp), output.(linOut)
		return fmt.Sprintf("%d %s %s → %s %d", in.Node, in.Op, in.Name, out.Code, out.Owner)
	},
}

// opsNode is one isle node --ops process: its answers read line by line.
type opsNode struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	answers chan string   // stdout's lines
	done    chan struct{} // closed when it has exited
	mu      sync.Mutex
	stderr  []string
}

// startOpsNode starts bin node --ops args, through the command prefix
// (ip netns exec NS) when there is one.
func startOpsNode(t *testing.T, prefix []string, bin string, args []string) *opsNode {
	t.Helper()
	argv := append(append(append([]string(nil), prefix...), bin, "node", "--ops"), args...)
	p := &opsNode{cmd: exec.Command(argv[0], argv[1:]...), answers: make(chan string, 16), done: make(chan struct{})}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, _ := p.cmd.StdoutPipe()
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			p.answers <- sc.Text()
		}
	}()
	go func() {
		defer wg.Done()
		for sc := bufio.NewScanner(stderr); sc.Scan(); {
			p.mu.Lock()
			p.stderr = append(p.stderr, sc.Text())
			p.mu.Unlock()
		}
	}()
	go func() { wg.Wait(); p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// do sends one operation and waits for its answer; ok is false when the
// process ended (or stopped answering) first.
func (p *opsNode) do(seq int, verb, name string, d time.Duration) (string, bool) {
	if _, err := fmt.Fprintf(p.stdin, "%d %s %s\n", seq, verb, name); err != nil {
		return "", false
	}
	select {
	case a := <-p.answers:
		id, rest, _ := strings.Cut(a, " ")
		return rest, id == strconv.Itoa(seq)
	case <-p.done:
		return "", false
	case <-time.After(d):
		return "", false
	}
}

// linCluster is three node processes founding a cluster, and the history
// their clients make.
type linCluster struct {
	t     *testing.T
	bin   string
	args  [3][]string
	env   *netns     // nil: on loopback; else node i+1 runs in env's namespace i+1, and links are cut
	mu    sync.Mutex // guards nodes, ops and next
	nodes [3]*opsNode
	ops   []porcupine.Operation
	next  int // the next client id
	final int // ops[final:] are the final reads
	base  time.Time
	wg    sync.WaitGroup
	stop  chan struct{}
}

func newLinCluster(t *testing.T, bin string, env *netns) *linCluster {
	dir := t.TempDir()
	var addr []string
	if env == nil {
		addr = freeAddrs(t, 3)
	} else {
		for i := 1; i <= 3; i++ {
			addr = append(addr, fmt.Sprintf("10.199.0.%d:7000", i))
		}
	}
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addr[0], addr[1], addr[2])
	c := &linCluster{t: t, bin: bin, env: env, base: time.Now(), stop: make(chan struct{})}
	for i := range c.args {
		c.args[i] = []string{"--id", strconv.Itoa(i + 1), "--listen-peer", addr[i], "--data", filepath.Join(dir, fmt.Sprint(i+1)),
			"--peers", peers, "--timeout", "1s", "--name-expiry", "1h"}
	}
	return c
}

// start starts node i (again, from its log) and a client for it.
func (c *linCluster) start(i int, rng *rand.Rand) {
	var prefix []string
	if c.env != nil {
		prefix = c.env.exec(i + 1)
	}
	p := startOpsNode(c.t, prefix, c.bin, c.args[i])
	c.mu.Lock()
	c.nodes[i] = p
	client := c.next
	c.next++
	c.mu.Unlock()
	seed := rng.Uint64()
	c.wg.Add(1)
	go c.client(p, client, uint64(i+1), rand.New(rand.NewPCG(seed, 2)))
}

func (c *linCluster) now() int64 { return int64(time.Since(c.base)) }

func (c *linCluster) add(client int, in linOp, call int64, out linOut) {
	ret := c.now()
	if out.Code == "unknown" {
		ret = math.MaxInt64 // it may take effect at any time after its call, or never
	}
	c.mu.Lock()
	c.ops = append(c.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	c.mu.Unlock()
}

// client runs random operations on one node process until the run stops
// or the process ends.
func (c *linCluster) client(p *opsNode, client int, node uint64, rng *rand.Rand) {
	defer c.wg.Done()
	names := []string{"a", "b", "c"}
	verbs := []string{"register", "unregister", "lookup"}
	for seq := 1; ; seq++ {
		select {
		case <-c.stop:
			return
		default:
		}
		in := linOp{Op: verbs[rng.IntN(3)], Name: names[rng.IntN(3)], Node: node}
		call := c.now()
		ans, ok := p.do(seq, in.Op, in.Name, 10*time.Second)
		code, owner, _ := strings.Cut(ans, " ")
		switch {
		case (!ok || code == "timeout") && in.Op == "lookup":
			// a read with no answer changed nothing
		case !ok || code == "timeout":
			c.add(client, in, call, linOut{Code: "unknown"})
		default:
			o, _ := strconv.ParseUint(owner, 10, 64)
			c.add(client, in, call, linOut{Code: code, Owner: o})
		}
		if !ok {
			return // the process ended (or went silent): its next life gets a new client
		}
	}
}

// fault applies one fault to a node chosen by rng and undoes it: a
// SIGKILL and a restart from the log, a SIGSTOP and a SIGCONT, or, in
// network namespaces, a cut of its link (ip link set down: a partition)
// and its healing. One node at a time: the two others keep a quorum.
func (c *linCluster) fault(rng *rand.Rand, faults map[string]int) {
	i := rng.IntN(3)
	c.mu.Lock()
	p := c.nodes[i]
	c.mu.Unlock()
	hold := time.Duration(200+rng.IntN(800)) * time.Millisecond
	kinds := 2
	if c.env != nil {
		kinds = 3
	}
	switch rng.IntN(kinds) {
	case 2:
		faults["cut"]++
		c.env.cut(i + 1)
		time.Sleep(4 * hold) // the partition's length: past the link's 3 s silence, sometimes
		c.env.heal(i + 1)
		return
	case 0:
		faults["kill"]++
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		time.Sleep(hold) // the fault's length: the others run without it
		c.start(i, rng)
		return
	}
	faults["stop"]++
	p.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(hold) // the fault's length
	p.cmd.Process.Signal(syscall.SIGCONT)
}

// finalReads reads every name on every node once the faults are over,
// retrying a read that times out (a node catching up).
func (c *linCluster) finalReads() {
	for i := range c.nodes {
		p := c.nodes[i]
		for k, name := range []string{"a", "b", "c"} {
			for try := 0; ; try++ {
				call := c.now()
				ans, ok := p.do(1000000+10*k+try, "lookup", name, 10*time.Second)
				code, owner, _ := strings.Cut(ans, " ")
				if ok && code == "ok" {
					o, _ := strconv.ParseUint(owner, 10, 64)
					c.add(c.next+i, linOp{Op: "lookup", Name: name, Node: uint64(i + 1)}, call, linOut{Code: "ok", Owner: o})
					break
				}
				if !ok || try == 20 {
					c.t.Fatalf("node %d: no answer to a lookup after the faults (%q):\n%s", i+1, ans, p.output())
				}
			}
		}
	}
}

func (p *opsNode) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// TestNodeLinearizable: three isle node processes on loopback, a client
// on each making random registrations, unregistrations and lookups of three
// names through --ops, while one node at a time is SIGKILLed and restarted
// from its log, or SIGSTOPped (cut off: its leadership, if it had it, is
// lost) and continued; then linNetnsRuns runs in network namespaces, with
// delay and loss on the links, whose faults include partitions. Each run's
// history is checked with porcupine.
func TestNodeLinearizable(t *testing.T) {
	bin := buildIsle(t)
	runs, nsRuns := 2, linNetnsRuns
	if testing.Short() {
		runs, nsRuns = 1, 2
	}
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { linRun(t, bin, nil, seed, 4*time.Second) })
	}
	var mu sync.Mutex
	faults, passed := map[string]int{}, 0
	t.Run("netns", func(t *testing.T) {
		for seed := uint64(101); seed <= uint64(100+nsRuns); seed++ {
			t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
				t.Parallel() // the runs mostly wait out their faults
				f := linRun(t, bin, newNetns(t, 3), seed, 3*time.Second)
				mu.Lock()
				defer mu.Unlock()
				for k, v := range f {
					faults[k] += v
				}
				passed++
			})
		}
	})
	t.Logf("netns: %d of %d runs linearizable, their faults %v", passed, nsRuns, faults)
}

// linNetnsRuns is how many randomized runs TestNodeLinearizable makes in
// network namespaces (issue 18 asks for 20 without a violation).
const linNetnsRuns = 20

// linRun is one seeded run; it returns the faults it made.
func linRun(t *testing.T, bin string, env *netns, seed uint64, length time.Duration) map[string]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	c := newLinCluster(t, bin, env)
	for i := range c.nodes {
		c.start(i, rng)
	}
	faults := map[string]int{}
	for end := time.Now().Add(length); time.Now().Before(end); {
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond) // between faults
		c.fault(rng, faults)
	}
	close(c.stop)
	c.wg.Wait()
	c.final = len(c.ops)
	c.finalReads()
	counts := map[string]int{}
	for _, op := range c.ops {
		counts[op.Input.(linOp).Op+" "+op.Output.(linOut).Code]++
	}
	t.Logf("faults %v; %d operations: %v", faults, len(c.ops), counts)
	if counts["register ok"] == 0 || counts["lookup ok"] == 0 {
		t.Fatalf("too few operations took effect to check anything: %v", counts)
	}
	res, info := porcupine.CheckOperationsVerbose(linModel, c.ops, 30*time.Second)
	if res != porcupine.Ok {
		file := filepath.Join(t.TempDir(), "history.html")
		porcupine.VisualizePath(linModel, info, file)
		t.Fatalf("the history is %v (not linearizable, or the check timed out); see %s", res, file)
	}
	// The check can fail: the same history with one final read changed to
	// another holder is illegal.
	if bad, ok := tamper(c.ops, c.final); ok {
		if res := porcupine.CheckOperationsTimeout(linModel, bad, 30*time.Second); res != porcupine.Illegal {
			t.Fatalf("a history with a wrong final read checks %v, want illegal", res)
		}
	}
	return faults
}

// tamper returns ops with one of the final reads (those from index final
// on) answered with another holder, on a name no write of unknown outcome
// touched (such a write may take effect at any time, and could explain any
// answer).
func tamper(ops []porcupine.Operation, final int) ([]porcupine.Operation, bool) {
	unknown := map[string]bool{}
	for _, op := range ops {
		if op.Output.(linOut).Code == "unknown" {
			unknown[op.Input.(linOp).Name] = true
		}
	}
	for i := final; i < len(ops); i++ {
		if name := ops[i].Input.(linOp).Name; !unknown[name] {
			bad := append([]porcupine.Operation(nil), ops...)
			out := bad[i].Output.(linOut)
			out.Owner = out.Owner%3 + 1
			bad[i].Output = out
			return bad, true
		}
	}
	return nil, false
}
