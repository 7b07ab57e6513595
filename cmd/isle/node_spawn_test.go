package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// TestNodeRemoteSpawn: node 1 runs a program with a preopened directory of
// programs; node 2 spawns one of them on node 1 (--spawn-on), read from
// node 1's preopen: it runs there and registers its name cluster-wide;
// node 4's --ps lists every node's live SIPs, the spawned one included.
// (The refusals are TestRemoteSpawnRefused's, in process.)
func TestNodeRemoteSpawn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds isle and runs node processes")
	}
	bin := buildIsle(t)
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "register.c"))
	if err != nil {
		t.Fatal(err)
	}
	reg := testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	progs := t.TempDir()
	wasm, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(progs, "reg.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	ps, addrs := threeNodes(t, bin,
		[]string{"--", "--cache-dir", "", "--cores", "1", "--dir", progs + ":/progs:ro", reg, "svc", "wait"},
		[]string{"--wait-name", "svc"},
		[]string{})
	const wait = 60 * time.Second
	ps[1].waitLine(t, "svc is registered by node 1", wait)
	s := startNode(t, bin, "--id", "4", "--listen-peer", freeAddrs(t, 1)[0], "--data", filepath.Join(t.TempDir(), "4"),
		"--join", "1="+addrs[0]+",2="+addrs[1], "--spawn-on", "1", "--ps", "--", "/progs/reg.wasm", "spawned-svc", "wait")
	line := s.waitLine(t, "spawned /progs/reg.wasm on node 1: pid", wait)
	var pid int
	if _, err := fmt.Sscanf(line[strings.Index(line, "pid"):], "pid %d", &pid); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	ps[0].waitLine(t, fmt.Sprintf("spawned-svc (contract Svc, pid %d) registered cluster-wide", pid), wait)
	s.waitLine(t, fmt.Sprintf("ps: node 1 pid %d reg.wasm", pid), wait)
	s.waitLine(t, "ps: node 1 pid 2 ", wait) // the program node 1 runs
	s.waitLine(t, "ps: node 2: no SIPs", wait)
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.exitCode(t, wait); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.output())
	}
}

// TestNodeProcSpawnOn: a SIP of node 3 spawns, with proc_spawn_on
// (examples/remote-spawn), a program read from node 1's preopen; the child
// runs on node 1 and its exit status comes back to the parent's proc_wait;
// then the parent kills a child there and waits for its 137.
func TestNodeProcSpawnOn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds isle and runs node processes")
	}
	bin := buildIsle(t)
	root := testprog.Root(t)
	reg := testprog.C(t, readSource(t, root, "testdata", "register.c"), "-I", filepath.Join(root, "guest", "c"))
	parent := testprog.C(t, readSource(t, root, "examples", "remote-spawn", "parent.c"), "-I", filepath.Join(root, "guest", "c"))
	child := testprog.C(t, readSource(t, root, "testdata", "cluster", "child.c"))
	progs := t.TempDir()
	wasm, err := os.ReadFile(child)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(progs, "child.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeAddrs(t, 3)
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addr[0], addr[1], addr[2])
	node := func(id int, extra ...string) *nodeProc {
		return startNode(t, bin, append([]string{"--id", fmt.Sprint(id), "--listen-peer", addr[id-1],
			"--data", filepath.Join(dir, fmt.Sprint(id)), "--peers", peers}, extra...)...)
	}
	const wait = 60 * time.Second
	// Node 1's machine serves spawns once it runs: its program registers
	// svc, which a quorum (nodes 1 and 2) commits.
	n1 := node(1, "--", "--cache-dir", "", "--cores", "1", "--dir", progs+":/progs:ro", reg, "svc", "wait")
	node(2)
	n1.waitLine(t, "svc (contract Svc, pid 2) registered cluster-wide", wait)
	run := func(args ...string) *nodeProc {
		return node(3, append([]string{"--stay", "--", "--cache-dir", "", "--cores", "1", parent}, args...)...)
	}
	n3 := run("1", "/progs/child.wasm", "7")
	n3.waitLine(t, "wait: status 7", wait)
	n1.waitLine(t, "child 7", wait)
	n3.waitLine(t, "the program exited with status 0; staying a member", wait)
	n3.cmd.Process.Signal(syscall.SIGTERM)
	if code := n3.exitCode(t, wait); code != 0 {
		t.Fatalf("exit %d:\n%s", code, n3.output())
	}
	n3 = run("-k", "1", "/progs/child.wasm", "forever") // from its log
	n3.waitLine(t, "wait: status 137", wait)
}

func readSource(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
