package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// netns is a test's network: one namespace per node, each with a veth
// whose other end is on a bridge in a hub namespace, addresses
// 10.199.0.N/24, and on every path between two nodes a delay of linkDelay
// and a loss of linkLoss percent in each direction: tc netem on each
// node's veth where the kernel has netem, else iptables rules and a
// delayer in each node's namespace (addFaults).
type netns struct {
	t      *testing.T
	tag    string   // unique per test run: interface names are global while they are made
	nodes  []string // namespace of node i+1
	hub    string
	faults string // how the delay and the loss are made, for the log
}

// The faults of every link (docs/cluster.md, "Faults between nodes").
const (
	linkDelay = 5 * time.Millisecond
	linkLoss  = 1 // percent
)

// ip runs ip (or tc, iptables) and fails the test on an error.
func (n *netns) ip(cmd string, args ...string) {
	n.t.Helper()
	if out, err := exec.Command(cmd, args...).CombinedOutput(); err != nil {
		n.t.Fatalf("%s %s: %v\n%s", cmd, strings.Join(args, " "), err, out)
	}
}

// newNetns makes k namespaces joined by a bridge, with delay and loss on
// their links, or skips the test, saying why, where the machine does not
// allow it. The namespaces go in Cleanup.
func newNetns(t *testing.T, k int) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	for _, c := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("network namespaces need %s: %v", c, err)
		}
	}
	b := make([]byte, 3)
	rand.Read(b)
	n := &netns{t: t, tag: hex.EncodeToString(b), hub: "isle-" + hex.EncodeToString(b) + "-hub"}
	if out, err := exec.Command("ip", "netns", "add", n.hub).CombinedOutput(); err != nil {
		t.Skipf("ip netns add does not work here: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.hub).Run() })
	n.ip("ip", "-n", n.hub, "link", "add", "br0", "type", "bridge")
	n.ip("ip", "-n", n.hub, "link", "set", "br0", "up")
	for i := 1; i <= k; i++ {
		ns := fmt.Sprintf("isle-%s-%d", n.tag, i)
		n.ip("ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		n.nodes = append(n.nodes, ns)
		v, h := n.veth(i), fmt.Sprintf("ih%s%d", n.tag, i)
		n.ip("ip", "link", "add", v, "type", "veth", "peer", "name", h)
		n.ip("ip", "link", "set", v, "netns", ns)
		n.ip("ip", "link", "set", h, "netns", n.hub)
		n.ip("ip", "-n", n.hub, "link", "set", h, "master", "br0")
		n.ip("ip", "-n", n.hub, "link", "set", h, "up")
		n.ip("ip", "-n", ns, "addr", "add", fmt.Sprintf("10.199.0.%d/24", i), "dev", v)
		n.ip("ip", "-n", ns, "link", "set", v, "up")
		n.ip("ip", "-n", ns, "link", "set", "lo", "up")
	}
	n.addFaults()
	return n
}

// addFaults puts linkDelay and linkLoss on every node's link. Netem
// first: on each node's veth, its egress, so each direction of a path
// between two nodes crosses one netem. Where the kernel has no netem (this
// build machine's), in each node's namespace, on the packets arriving on
// its veth, so again once per direction: an iptables statistic rule drops
// linkLoss percent, and an NFQUEUE rule hands the rest to a delayer
// (nfqueue_test.go) that accepts each after linkDelay. Without either the
// test is skipped, saying why.
func (n *netns) addFaults() {
	netem := []string{"qdisc", "add", "dev", n.veth(1), "root", "netem", "delay", linkDelay.String(), "loss", fmt.Sprintf("%d%%", linkLoss)}
	out, err := exec.Command("tc", append([]string{"-n", n.nodes[0]}, netem...)...).CombinedOutput()
	if err == nil {
		for i := 2; i <= len(n.nodes); i++ {
			netem[2] = n.veth(i)
			n.ip("tc", append([]string{"-n", n.nodes[i-1]}, netem...)...)
		}
		n.faults = "tc netem " + strings.Join(netem[5:], " ")
		return
	}
	noNetem := fmt.Sprintf("tc netem is not available (%v: %s)", err, strings.TrimSpace(string(out)))
	if _, err := exec.LookPath("iptables"); err != nil {
		n.t.Skipf("no delay or loss on the links: %s, and iptables is not installed (scripts/test.sh installs it)", noNetem)
	}
	for i, ns := range n.nodes {
		in := []string{"netns", "exec", ns, "iptables", "-w", "-A", "INPUT", "-i", n.veth(i + 1)}
		for _, rule := range [][]string{
			{"-m", "statistic", "--mode", "random", "--probability", fmt.Sprint(float64(linkLoss) / 100), "-j", "DROP"},
			{"-j", "NFQUEUE", "--queue-num", "0", "--queue-bypass"},
		} {
			if out, err := exec.Command("ip", append(in, rule...)...).CombinedOutput(); err != nil {
				n.t.Skipf("no delay or loss on the links: %s, and iptables %s fails: %v: %s", noNetem, strings.Join(rule, " "), err, strings.TrimSpace(string(out)))
			}
		}
		d, err := startDelayer(ns, linkDelay)
		if err != nil {
			n.t.Skipf("no delay on the links: %s, and %v", noNetem, err)
		}
		n.t.Cleanup(d.Close)
	}
	n.faults = fmt.Sprintf("iptables: %d%% of the packets arriving at each node dropped (statistic), the rest held %v (NFQUEUE and a delayer; %s)", linkLoss, linkDelay, noNetem)
}

// dropped counts, on node i's link, the packets the loss rule dropped and
// those it let through; ok is false where netem makes the loss.
func (n *netns) dropped(i int) (dropped, passed int, ok bool) {
	if strings.HasPrefix(n.faults, "tc netem") {
		return 0, 0, false
	}
	out, err := exec.Command("ip", "netns", "exec", n.nodes[i-1], "iptables", "-w", "-nvxL", "INPUT").CombinedOutput()
	if err != nil {
		n.t.Fatalf("iptables -nvxL in %s: %v\n%s", n.nodes[i-1], err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		k, err := strconv.Atoi(f[0])
		switch {
		case err != nil:
		case f[2] == "DROP":
			dropped += k
		case f[2] == "NFQUEUE":
			passed += k
		}
	}
	return dropped, passed, true
}

// veth is node i's interface name (at most 15 bytes).
func (n *netns) veth(i int) string { return fmt.Sprintf("iv%s%d", n.tag, i) }

// exec is the command prefix that runs a program in node i's namespace.
func (n *netns) exec(i int) []string { return []string{"ip", "netns", "exec", n.nodes[i-1]} }

// cut and heal take node i's link down and up again: a partition.
func (n *netns) cut(i int)  { n.ip("ip", "-n", n.nodes[i-1], "link", "set", n.veth(i), "down") }
func (n *netns) heal(i int) { n.ip("ip", "-n", n.nodes[i-1], "link", "set", n.veth(i), "up") }

// untilAnswer repeats an operation on an --ops node until its answer is
// one of want (a node cut off, or catching up, times out meanwhile).
func untilAnswer(t *testing.T, p *opsNode, seq *int, verb, name string, d time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		*seq++
		ans, ok := p.do(*seq, verb, name, 10*time.Second)
		for _, w := range want {
			if ok && ans == w {
				return ans
			}
		}
		if !ok || time.Now().After(deadline) {
			t.Fatalf("%s %s: %q, want one of %q:\n%s", verb, name, ans, want, p.output())
		}
	}
}

// TestNodeNetns runs isle nodes in network namespaces joined by veths and a
// bridge, with a delay of 5 ms and a loss of 1% each way between two nodes
// (netem, or iptables and a delayer: addFaults): examples/kv's Go server on node 1 and its Go client on
// node 2; node 3 (an --ops member) sees kv, is cut off (ip link set down),
// and while it is, node 4 joins through nodes 1 and 2 and runs kv's C
// client, the server ends and kv leaves the table; healed, node 3 converges
// (kv gone, node 4 a member). Then node 2 is SIGKILLed and the others keep
// a quorum: a registration through node 3 commits.
func TestNodeNetns(t *testing.T) {
	env := newNetns(t, 3)
	bin := buildIsle(t)
	server := testprog.Go(t, "./examples/kv/server")
	goClient := testprog.Go(t, "./examples/kv/client")
	cClient := exampleC(t, "kv", "client")
	dir := t.TempDir()
	addr := func(i int) string { return fmt.Sprintf("10.199.0.%d:7000", i) }
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addr(1), addr(2), addr(3))
	base := func(id int, listen string) []string {
		return []string{"--id", fmt.Sprint(id), "--listen-peer", listen, "--data", filepath.Join(dir, fmt.Sprint(id)), "--timeout", "2s"}
	}
	run := func(prog string, args ...string) []string {
		return append([]string{"--stay", "--", "--cache-dir", "", "--cores", "1", prog}, args...)
	}
	node := func(ns, id int, listen string, extra ...string) *nodeProc {
		return startNodeArgv(t, append(append(append(env.exec(ns), bin, "node"), base(id, listen)...), extra...))
	}
	const wait = 60 * time.Second
	n1 := node(1, 1, addr(1), append([]string{"--peers", peers}, run(server, "2")...)...)
	n2 := node(2, 2, addr(2), append([]string{"--peers", peers}, run(goClient)...)...)
	n3 := startOpsNode(t, env.exec(3), bin, append(base(3, addr(3)), "--peers", peers))
	n2.waitLine(t, "kv (contract KV) is served by node 1", wait)
	n2.waitLine(t, `watch saw: Deleted(go:color, v3)`, wait)
	n2.waitLine(t, "the program exited with status 0", wait)
	seq := 0
	untilAnswer(t, n3, &seq, "lookup", "kv", wait, "ok 1")

	env.cut(3)
	seq++
	if ans, ok := n3.do(seq, "lookup", "kv", 10*time.Second); !ok || ans != "timeout" {
		t.Fatalf("a lookup on the node cut off: %q (answered %v), want timeout", ans, ok)
	}
	join := fmt.Sprintf("1=%s,2=%s", addr(1), addr(2))
	n4 := node(2, 4, "10.199.0.2:7001", append([]string{"--join", join}, run(cClient)...)...)
	n4.waitLine(t, `get: Value(found=1, "large")`, wait)
	n4.waitLine(t, "the program exited with status 0", wait)
	n1.waitLine(t, "kv server: served 2 clients", wait)
	n1.waitLine(t, "kv unregistered cluster-wide", wait)

	env.heal(3)
	untilAnswer(t, n3, &seq, "lookup", "kv", wait, "ok 0")
	if out := n3.output(); !strings.Contains(out, "4=10.199.0.2:7001") {
		t.Errorf("node 3 has not heard of node 4:\n%s", out)
	}

	n2.cmd.Process.Signal(syscall.SIGKILL)
	<-n2.done
	untilAnswer(t, n3, &seq, "register", "after-kill", wait, "ok", "exists")
	untilAnswer(t, n3, &seq, "lookup", "after-kill", wait, "ok 3")
	t.Logf("links: %s", env.faults)
	var dropped, passed int
	for i := range env.nodes {
		d, p, _ := env.dropped(i + 1)
		dropped, passed = dropped+d, passed+p
	}
	t.Logf("the loss rules dropped %d of %d packets", dropped, dropped+passed)
}

// TestNetnsFaults: the links' faults are there, whichever mechanism makes
// them. A TCP round trip between two nodes' namespaces takes at least
// twice linkDelay (each direction is delayed once): it measures a
// connection's set-up and 20 one-byte round trips, and logs their least
// and median. And, where iptables makes the loss, of 4,000 UDP datagrams
// from node 1 to node 2 between 5 and 160 are dropped (at 1%, 40 on
// average; outside those bounds by chance less than once in 1e10 runs).
func TestNetnsFaults(t *testing.T) {
	env := newNetns(t, 2)
	rtts := roundTrips(t, env, 20)
	t.Logf("links: %s; round trips: least %v, median %v, most %v", env.faults, rtts[0], rtts[len(rtts)/2], rtts[len(rtts)-1])
	if rtts[0] < 2*linkDelay {
		t.Errorf("a round trip took %v, under twice the links' delay %v: the delay is not there", rtts[0], linkDelay)
	}
	d0, p0, ok := env.dropped(2)
	if !ok {
		return // netem's loss is not counted
	}
	var u net.PacketConn
	if err := inNetns(env.nodes[1], func() (err error) { u, err = net.ListenPacket("udp", "10.199.0.2:7101"); return err }); err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	var c net.Conn
	if err := inNetns(env.nodes[0], func() (err error) { c, err = net.Dial("udp", "10.199.0.2:7101"); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 4000
	for range sent {
		if _, err := c.Write([]byte("isle")); err != nil {
			t.Fatal(err)
		}
	}
	d1, p1, _ := env.dropped(2)
	dropped := d1 - d0
	t.Logf("of %d datagrams the loss rule dropped %d, let %d through", sent, dropped, p1-p0)
	if dropped < 5 || dropped > 160 {
		t.Errorf("the loss rule dropped %d of %d datagrams, want 5 to 160 (1%%)", dropped, sent)
	}
}

// roundTrips measures, from node 1's namespace to an echo server in node
// 2's, a TCP connection's set-up and then k one-byte round trips, sorted.
func roundTrips(t *testing.T, env *netns, k int) []time.Duration {
	var ln net.Listener
	if err := inNetns(env.nodes[1], func() (err error) { ln, err = net.Listen("tcp", "10.199.0.2:7100"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	var c net.Conn
	start := time.Now()
	if err := inNetns(env.nodes[0], func() (err error) { c, err = net.DialTimeout("tcp", "10.199.0.2:7100", 10*time.Second); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rtts := []time.Duration{time.Since(start)} // SYN, SYN-ACK
	b := []byte{1}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	for range k {
		start := time.Now()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	return rtts
}
