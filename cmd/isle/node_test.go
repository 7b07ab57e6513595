package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// nodeProc is one isle node process of a test, its stderr read line by line.
type nodeProc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	more  chan struct{} // signalled on each new line, closed at exit
	done  chan struct{}
	err   error
}

func startNode(t *testing.T, bin string, args ...string) *nodeProc {
	t.Helper()
	return startNodeArgv(t, append([]string{bin, "node"}, args...))
}

// startNodeArgv is startNode with the whole command line (a node run
// through ip netns exec).
func startNodeArgv(t *testing.T, argv []string) *nodeProc {
	t.Helper()
	p := &nodeProc{cmd: exec.Command(argv[0], argv[1:]...), more: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// waitLine waits for a line of the process's stderr containing want.
func (p *nodeProc) waitLine(t *testing.T, want string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for seen := 0; ; {
		p.mu.Lock()
		lines := p.lines[seen:]
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, want) {
				return l
			}
		}
		select {
		case <-p.more:
		case <-p.done:
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			if n == seen {
				t.Fatalf("node exited (%v) without a line containing %q:\n%s", p.err, want, p.output())
			}
		case <-deadline:
			t.Fatalf("no line containing %q within %v:\n%s", want, d, p.output())
		}
	}
}

func (p *nodeProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

func (p *nodeProc) exitCode(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("node did not exit within %v:\n%s", d, p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		defer l.Close()
	}
	return addrs
}

// TestNodeCluster runs isle nodes as separate processes on loopback ports:
// three found a cluster, a program on node 1 registers a name and the
// others see it cluster-wide; node 3 is SIGKILLed and a node 4 joins
// through the two left; node 3 restarts from its log and catches up. Then
// the bad inputs: a join without quorum, a truncated log, a bad command line.
func TestNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds isle and runs five node processes")
	}
	c := newNodeCluster(t)
	n2 := c.node(2, "--peers", c.peers, "--wait-name", "svc")
	n3 := c.node(3, "--peers", c.peers)
	n1 := c.node(1, "--peers", c.peers, "--", "--cache-dir", "", "--cores", "1", c.reg, "svc", "wait")
	n1.waitLine(t, "svc (contract Svc, pid 2) registered cluster-wide", nodeWait)
	n2.waitLine(t, "svc is registered by node 1 (contract Svc)", nodeWait)

	n3.cmd.Process.Signal(syscall.SIGKILL)
	<-n3.done
	n4 := c.node(4, "--join", fmt.Sprintf("1=%s,2=%s", c.addr[0], c.addr[1]), "--wait-name", "svc")
	n4.waitLine(t, "svc is registered by node 1", nodeWait)
	n1.waitLine(t, "4="+c.addr[3], nodeWait)

	n3 = c.node(3, "--peers", c.peers, "--wait-name", "svc") // from its log
	n3.waitLine(t, "svc is registered by node 1", nodeWait)
	n3.waitLine(t, "4="+c.addr[3], nodeWait)

	t.Run("join without quorum", func(t *testing.T) { c.joinWithoutQuorum(t, n2, n3, n4) })
	t.Run("truncated log", c.truncatedLog)
	t.Run("mutual TLS", c.mutualTLS)
	t.Run("bad command lines", c.badCommandLines)
}

// nodeWait bounds each wait of the node tests for a line or an exit.
const nodeWait = 20 * time.Second

// nodeCluster is TestNodeCluster's set-up: an isle binary, the register
// program, five free addresses and the first three nodes' peer list.
type nodeCluster struct {
	t             *testing.T
	dir, bin, reg string
	addr          []string
	peers         string
}

func newNodeCluster(t *testing.T) *nodeCluster {
	c := &nodeCluster{t: t, dir: t.TempDir()}
	c.bin = filepath.Join(c.dir, "isle")
	if out, err := exec.Command("go", "build", "-o", c.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "register.c"))
	if err != nil {
		t.Fatal(err)
	}
	c.reg = testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	c.addr = freeAddrs(t, 5)
	c.peers = fmt.Sprintf("1=%s,2=%s,3=%s", c.addr[0], c.addr[1], c.addr[2])
	return c
}

// data is node id's data directory.
func (c *nodeCluster) data(id int) string { return filepath.Join(c.dir, fmt.Sprintf("data-%d", id)) }

// node starts node id on its address and data directory.
func (c *nodeCluster) node(id int, extra ...string) *nodeProc {
	args := append([]string{"--id", fmt.Sprint(id), "--listen-peer", c.addr[id-1], "--data", c.data(id)}, extra...)
	return startNode(c.t, c.bin, args...)
}

// joinWithoutQuorum: with only node 1 left, a join gives one line, exit 1.
func (c *nodeCluster) joinWithoutQuorum(t *testing.T, kill ...*nodeProc) {
	for _, p := range kill {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	n5 := c.node(5, "--join", "1="+c.addr[0], "--timeout", "1s")
	line := n5.waitLine(t, "no quorum", nodeWait)
	if code := n5.exitCode(t, nodeWait); code != exitError {
		t.Fatalf("exit %d, want %d (%s)", code, exitError, line)
	}
}

// truncatedLog: a node whose log is cut in half says so in one line.
func (c *nodeCluster) truncatedLog(t *testing.T) {
	db := filepath.Join(c.data(2), "raft.db")
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	os.Truncate(db, fi.Size()/2)
	p := c.node(2, "--peers", c.peers)
	p.waitLine(t, "raft log is corrupt", nodeWait)
	if code := p.exitCode(t, nodeWait); code != exitError {
		t.Fatalf("exit %d on a truncated log:\n%s", code, p.output())
	}
	if out := p.output(); strings.Contains(out, "goroutine") || strings.Count(out, "corrupt") != 1 {
		t.Fatalf("want one line:\n%s", out)
	}
}

// mutualTLS: nodes with the cluster's certificates form a cluster; one with
// another CA's certificate is refused, and node 1 says why.
func (c *nodeCluster) mutualTLS(t *testing.T) {
	certs, other := filepath.Join(c.dir, "certs"), filepath.Join(c.dir, "other-certs")
	for _, d := range []string{certs, other} {
		if out, err := exec.Command(c.bin, "cluster", "certs", d, "--nodes", "3").CombinedOutput(); err != nil {
			t.Fatalf("isle cluster certs: %v\n%s", err, out)
		}
	}
	addr := freeAddrs(t, 3)
	peers := fmt.Sprintf("1=%s,2=%s", addr[0], addr[1])
	tdata := func(id int) string { return filepath.Join(c.dir, fmt.Sprintf("tls-%d", id)) }
	a := startNode(t, c.bin, "--id", "1", "--listen-peer", addr[0], "--data", tdata(1), "--peers", peers, "--certs", certs,
		"--", "--cache-dir", "", "--cores", "1", c.reg, "tls-svc", "wait")
	b := startNode(t, c.bin, "--id", "2", "--listen-peer", addr[1], "--data", tdata(2), "--peers", peers, "--certs", certs, "--wait-name", "tls-svc")
	a.waitLine(t, "tls-svc (contract Svc, pid 2) registered cluster-wide", nodeWait)
	b.waitLine(t, "tls-svc is registered by node 1", nodeWait)
	// A node whose certificate is of another cluster's CA is refused.
	f := startNode(t, c.bin, "--id", "3", "--listen-peer", addr[2], "--data", tdata(3), "--join", "1="+addr[0], "--certs", other, "--timeout", "2s")
	f.waitLine(t, "no quorum", nodeWait)
	if code := f.exitCode(t, nodeWait); code != exitError {
		t.Fatalf("a foreign certificate's join: exit %d", code)
	}
	a.waitLine(t, "certificate", nodeWait) // node 1 says why it refused the link
}

// badCommandLines: each gets one line and the usage exit.
func (c *nodeCluster) badCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{"--id", "0", "--listen-peer", c.addr[4]},
		{"--id", "7", "--listen-peer", c.addr[4], "--peers", "1=" + c.addr[0]},
		{"--id", "7", "--listen-peer", c.addr[4], "--join", "x=" + c.addr[0]},
		{"--id", "7", "--listen-peer", c.addr[4], "--peers", "7=" + c.addr[4], "--join", "1=" + c.addr[0]},
	} {
		p := startNode(t, c.bin, args...)
		if code := p.exitCode(t, nodeWait); code != exitUsage || strings.Count(p.output(), "\n") != 0 {
			t.Errorf("%q: exit %d, want %d and one line:\n%s", args, code, exitUsage, p.output())
		}
	}
}
