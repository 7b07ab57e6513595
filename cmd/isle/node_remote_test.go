package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// buildIsle builds the isle binary for tests that run node processes.
func buildIsle(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "isle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// exampleC builds examples/NAME/c/PROG.c.
func exampleC(t *testing.T, name, prog string) string {
	t.Helper()
	root := testprog.Root(t)
	out := filepath.Join(t.TempDir(), prog+".wasm")
	testprog.CFile(t, filepath.Join(root, "examples", name, "c", prog+".c"), out,
		"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", name, "c"))
	return out
}

// threeNodes starts nodes 1, 2 and 3 founding a cluster on loopback, node i
// with args[i-1] after its own flags.
func threeNodes(t *testing.T, bin string, args ...[]string) ([]*nodeProc, []string) {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddrs(t, 3)
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addr[0], addr[1], addr[2])
	var ps []*nodeProc
	for i, extra := range args {
		a := append([]string{"--id", fmt.Sprint(i + 1), "--listen-peer", addr[i], "--data", filepath.Join(dir, fmt.Sprint(i+1)), "--peers", peers}, extra...)
		ps = append(ps, startNode(t, bin, a...))
	}
	return ps, addr
}

// TestNodeRemoteLookup: examples/kv's Go server runs on node 1 and its Go
// and C clients on nodes 2 and 3, with no list of remote names: the server's
// registration reaches the cluster's name table with its contract's source,
// each other node's gateway serves the name from the table, and the clients'
// lookups, calls and the watch channel the Go client hands over (an
// endpoint carried across nodes) go through the gateways.
func TestNodeRemoteLookup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds isle and runs three node processes")
	}
	bin := buildIsle(t)
	server := testprog.Go(t, "./examples/kv/server")
	goClient := testprog.Go(t, "./examples/kv/client")
	cClient := exampleC(t, "kv", "client")
	run := func(prog string, args ...string) []string {
		return append([]string{"--", "--cache-dir", "", "--cores", "1", prog}, args...)
	}
	stay := []string{"--stay"}
	ps, _ := threeNodes(t, bin, run(server, "2"), append(stay, run(goClient)...), append(stay, run(cClient)...))
	const wait = 60 * time.Second
	for _, p := range ps[1:] {
		p.waitLine(t, "kv (contract KV) is served by node 1", wait)
	}
	ps[1].waitLine(t, `watch saw: Deleted(go:color, v3)`, wait)
	ps[2].waitLine(t, `get: Value(found=1, "large")`, wait)
	for _, p := range ps[1:] {
		p.waitLine(t, "bye", wait)
		p.waitLine(t, "the program exited with status 0", wait)
	}
	ps[0].waitLine(t, "kv server: served 2 clients", wait)
	ps[0].waitLine(t, "node 2 opened a channel to \"kv\"", wait)
	ps[0].waitLine(t, "node 3 opened a channel to \"kv\"", wait)
	ps[0].waitLine(t, "kv unregistered cluster-wide", wait)
	if code := ps[0].exitCode(t, wait); code != 0 {
		t.Fatalf("node 1: exit %d:\n%s", code, ps[0].output())
	}
	// The server's exit took its name out of the table, and out of the
	// other machines' name services with it. Both see it before either
	// ends: with node 1 gone, node 3 alone could learn nothing.
	for _, p := range ps[1:] {
		p.waitLine(t, "kv of node 1 is gone from the cluster's name table", wait)
	}
	for _, p := range ps[1:] {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.exitCode(t, wait); code != 0 {
			t.Fatalf("exit %d:\n%s", code, p.output())
		}
	}
	if out := ps[1].output(); strings.Contains(out, "registered on this machine only") {
		t.Fatalf("the gateway's registration of a remote name was mirrored back:\n%s", out)
	}
}

// TestNodeRemoteKill: examples/pingpong's server on node 1, a client that
// never stops on each of nodes 2 and 3. Node 1 is SIGKILLed mid-run: both
// clients see Closed (the client reports a bad answer, message 65535), and
// the two nodes left drop node 1's name from the table once the leader has
// not heard from it for the name expiry.
func TestNodeRemoteKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds isle and runs three node processes")
	}
	bin := buildIsle(t)
	server, client := exampleC(t, "pingpong", "server"), exampleC(t, "pingpong", "client")
	run := func(prog string, args ...string) []string {
		return append([]string{"--", "--cache-dir", "", "--cores", "1", prog}, args...)
	}
	stay := []string{"--stay"}
	ps, _ := threeNodes(t, bin, run(server, "2"), append(stay, run(client, "1000000000")...), append(stay, run(client, "1000000000")...))
	const wait = 60 * time.Second
	ps[0].waitLine(t, "node 2 opened a channel to \"pingpong\"", wait)
	ps[0].waitLine(t, "node 3 opened a channel to \"pingpong\"", wait)
	ps[0].cmd.Process.Signal(syscall.SIGKILL)
	<-ps[0].done
	for _, p := range ps[1:] {
		p.waitLine(t, "bad answer (message 65535)", wait)
		p.waitLine(t, "the program exited with status 1", wait)
		p.waitLine(t, "pingpong of node 1 is gone from the cluster's name table", wait)
	}
	for _, p := range ps[1:] {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.exitCode(t, wait); code != 1 {
			t.Fatalf("exit %d, want the program's 1:\n%s", code, p.output())
		}
	}
}

// TestNodeRestartReregisters: a node SIGKILLed while its program held a
// name, restarted from its log before the name expired, registers the name
// again cluster-wide: its old entry is its own and stale, not another
// node's.
func TestNodeRestartReregisters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds isle and runs node processes")
	}
	bin := buildIsle(t)
	root := testprog.Root(t)
	out := filepath.Join(t.TempDir(), "register.wasm")
	testprog.CFile(t, filepath.Join(root, "testdata", "register.c"), out, "-I", filepath.Join(root, "guest", "c"))
	dir := t.TempDir()
	addr := freeAddrs(t, 3)
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addr[0], addr[1], addr[2])
	node := func(id int, extra ...string) *nodeProc {
		a := append([]string{"--id", fmt.Sprint(id), "--listen-peer", addr[id-1], "--data", filepath.Join(dir, fmt.Sprint(id)),
			"--peers", peers, "--name-expiry", "10m"}, extra...)
		return startNode(t, bin, a...)
	}
	prog := []string{"--", "--cache-dir", "", "--cores", "1", out, "svc", "wait"}
	n1 := node(1, prog...)
	node(2)
	node(3)
	const wait = 60 * time.Second
	n1.waitLine(t, "svc (contract Svc, pid 2) registered cluster-wide", wait)
	n1.cmd.Process.Signal(syscall.SIGKILL)
	<-n1.done
	n1 = node(1, prog...)
	n1.waitLine(t, "svc (contract Svc, pid 2) registered cluster-wide", wait)
	if strings.Contains(n1.output(), "registered on this machine only") {
		t.Fatalf("the restarted node's name was refused:\n%s", n1.output())
	}
}

// count returns how many lines of the process's output contain want.
func (p *nodeProc) count(want string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, want) {
			n++
		}
	}
	return n
}

// waitCount waits until n lines of the process's output contain want.
func (p *nodeProc) waitCount(t *testing.T, want string, n int, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for p.count(want) < n {
		select {
		case <-p.more:
		case <-p.done:
			if p.count(want) < n {
				t.Fatalf("node exited with %d lines containing %q, want %d:\n%s", p.count(want), want, n, p.output())
			}
		case <-deadline:
			t.Fatalf("%d lines containing %q within %v, want %d:\n%s", p.count(want), want, d, n, p.output())
		}
	}
}

// TestNodeStoppedNamesExpireAndReturn: node 1, whose program serves svc, is
// stopped (SIGSTOP) past the name expiry: the others drop svc from the
// table. Continued (SIGCONT), node 1 finds its name gone while its SIP still
// holds it, and registers it again; the others see it served once more.
func TestNodeStoppedNamesExpireAndReturn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds isle and runs node processes")
	}
	bin := buildIsle(t)
	root := testprog.Root(t)
	out := filepath.Join(t.TempDir(), "register.wasm")
	testprog.CFile(t, filepath.Join(root, "testdata", "register.c"), out, "-I", filepath.Join(root, "guest", "c"))
	expiry := []string{"--name-expiry", "1s"}
	ps, _ := threeNodes(t, bin, append(expiry, "--", "--cache-dir", "", "--cores", "1", out, "svc", "wait"), expiry, expiry)
	const wait = 60 * time.Second
	const served = "svc (contract Svc) is served by node 1"
	ps[1].waitLine(t, served, wait)
	ps[0].cmd.Process.Signal(syscall.SIGSTOP)
	ps[1].waitLine(t, "svc of node 1 is gone from the cluster's name table", wait)
	ps[2].waitLine(t, "svc of node 1 is gone from the cluster's name table", wait)
	ps[0].cmd.Process.Signal(syscall.SIGCONT)
	ps[0].waitLine(t, "svc: dropped from the cluster's table while this node was unheard of; registering it again", wait)
	ps[0].waitCount(t, "svc (contract Svc, pid 2) registered cluster-wide", 2, wait)
	ps[1].waitCount(t, served, 2, wait)
	ps[2].waitCount(t, served, 2, wait)
}
