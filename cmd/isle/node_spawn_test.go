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
