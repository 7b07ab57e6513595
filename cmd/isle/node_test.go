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
	dir := t.TempDir()
	bin := filepath.Join(dir, "isle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "register.c"))
	if err != nil {
		t.Fatal(err)
	}
	reg := testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	addr := freeAddrs(t, 5)
	data := func(id int) string { return filepath.Join(dir, fmt.Sprintf("data-%d", id)) }
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addr[0], addr[1], addr[2])
	node := func(id int, extra ...string) *nodeProc {
		args := append([]string{"--id", fmt.Sprint(id), "--listen-peer", addr[id-1], "--data", data(id)}, extra...)
		return startNode(t, bin, args...)
	}
	const wait = 20 * time.Second

	n2 := node(2, "--peers", peers, "--wait-name", "svc")
	n3 := node(3, "--peers", peers)
	n1 := node(1, "--peers", peers, "--", "--cache-dir", "", "--cores", "1", reg, "svc", "wait")
	n1.waitLine(t, "svc (contract Svc, pid 2) registered cluster-wide", wait)
	n2.waitLine(t, "svc is registered by node 1 (contract Svc)", wait)

	n3.cmd.Process.Signal(syscall.SIGKILL)
	<-n3.done
	n4 := node(4, "--join", fmt.Sprintf("1=%s,2=%s", addr[0], addr[1]), "--wait-name", "svc")
	n4.waitLine(t, "svc is registered by node 1", wait)
	n1.waitLine(t, "4="+addr[3], wait)

	n3 = node(3, "--peers", peers, "--wait-name", "svc") // from its log
	n3.waitLine(t, "svc is registered by node 1", wait)
	n3.waitLine(t, "4="+addr[3], wait)

	t.Run("join without quorum", func(t *testing.T) {
		for _, p := range []*nodeProc{n2, n3, n4} {
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		n5 := node(5, "--join", "1="+addr[0], "--timeout", "1s")
		line := n5.waitLine(t, "no quorum", wait)
		if code := n5.exitCode(t, wait); code != exitError {
			t.Fatalf("exit %d, want %d (%s)", code, exitError, line)
		}
	})
	t.Run("truncated log", func(t *testing.T) {
		db := filepath.Join(data(2), "raft.db")
		fi, err := os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		os.Truncate(db, fi.Size()/2)
		p := node(2, "--peers", peers)
		p.waitLine(t, "raft log is corrupt", wait)
		if code := p.exitCode(t, wait); code != exitError {
			t.Fatalf("exit %d on a truncated log:\n%s", code, p.output())
		}
		if out := p.output(); strings.Contains(out, "goroutine") || strings.Count(out, "corrupt") != 1 {
			t.Fatalf("want one line:\n%s", out)
		}
	})
	t.Run("mutual TLS", func(t *testing.T) {
		certs, other := filepath.Join(dir, "certs"), filepath.Join(dir, "other-certs")
		for _, d := range []string{certs, other} {
			if out, err := exec.Command(bin, "cluster", "certs", d, "--nodes", "3").CombinedOutput(); err != nil {
				t.Fatalf("isle cluster certs: %v\n%s", err, out)
			}
		}
		addr := freeAddrs(t, 3)
		peers := fmt.Sprintf("1=%s,2=%s", addr[0], addr[1])
		tdata := func(id int) string { return filepath.Join(dir, fmt.Sprintf("tls-%d", id)) }
		a := startNode(t, bin, "--id", "1", "--listen-peer", addr[0], "--data", tdata(1), "--peers", peers, "--certs", certs,
			"--", "--cache-dir", "", "--cores", "1", reg, "tls-svc", "wait")
		b := startNode(t, bin, "--id", "2", "--listen-peer", addr[1], "--data", tdata(2), "--peers", peers, "--certs", certs, "--wait-name", "tls-svc")
		a.waitLine(t, "tls-svc (contract Svc, pid 2) registered cluster-wide", wait)
		b.waitLine(t, "tls-svc is registered by node 1", wait)
		// A node whose certificate is of another cluster's CA is refused.
		c := startNode(t, bin, "--id", "3", "--listen-peer", addr[2], "--data", tdata(3), "--join", "1="+addr[0], "--certs", other, "--timeout", "2s")
		c.waitLine(t, "no quorum", wait)
		if code := c.exitCode(t, wait); code != exitError {
			t.Fatalf("a foreign certificate's join: exit %d", code)
		}
		a.waitLine(t, "certificate", wait) // node 1 says why it refused the link
	})
	t.Run("bad command lines", func(t *testing.T) {
		for _, args := range [][]string{
			{"--id", "0", "--listen-peer", addr[4]},
			{"--id", "7", "--listen-peer", addr[4], "--peers", "1=" + addr[0]},
			{"--id", "7", "--listen-peer", addr[4], "--join", "x=" + addr[0]},
			{"--id", "7", "--listen-peer", addr[4], "--peers", "7=" + addr[4], "--join", "1=" + addr[0]},
		} {
			p := startNode(t, bin, args...)
			if code := p.exitCode(t, wait); code != exitUsage || strings.Count(p.output(), "\n") != 0 {
				t.Errorf("%q: exit %d, want %d and one line:\n%s", args, code, exitUsage, p.output())
			}
		}
	})
}
