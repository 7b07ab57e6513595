package replica

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt")

// TestScripts replays the protocol scripts in testdata/, in the manner of
// etcd raft's interaction tests: each case is a command, a line "----" and
// the output the command must produce; cases are separated by blank lines.
// go test -run Scripts -rewrite regenerates the outputs (review the diff).
//
// Commands (cores are numbers, every Ready is carried out after each one):
//
//	cores N               start N empty replicas
//	put C KEY VAL         core C writes KEY=VAL
//	del C KEY             core C deletes KEY
//	deliver [N]           deliver the first N queued messages (default: all queued now)
//	drop FROM TO TYPE     remove queued messages FROM→TO of TYPE (e.g. commit)
//	dup FROM TO TYPE      set aside a copy of queued messages FROM→TO of TYPE
//	release               queue the copies set aside (a late duplicate)
//	tick C|all [N]        tick core C, or every live core, N times (default 1)
//	crash C               core C stops: never ticked, messages to it vanish
//	remove C              every live core calls RemovePeer(C)
//	get KEY               KEY on every live core
//	state                 locks and transactions in flight on every live core
func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

type scriptCase struct {
	line     int
	cmd      string
	expected string
}

func parseScript(t *testing.T, file string) []scriptCase {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []scriptCase
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c := scriptCase{line: i + 1, cmd: l}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "----" {
			t.Fatalf("%s:%d: command without ----", file, i+1)
		}
		i += 2
		var out []string
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			out = append(out, lines[i])
		}
		c.expected = strings.Join(out, "\n")
		cases = append(cases, c)
	}
	return cases
}

func runScript(t *testing.T, file string) {
	cases := parseScript(t, file)
	var h scriptHarness
	var b strings.Builder
	for i, c := range cases {
		got := strings.TrimRight(h.run(t, c.cmd), "\n")
		if *rewrite {
			cases[i].expected = got
		} else if got != c.expected {
			t.Fatalf("%s:%d: %s\n--- got:\n%s\n--- want:\n%s", file, c.line, c.cmd, got, c.expected)
		}
		fmt.Fprintf(&b, "%s\n----\n%s\n\n", c.cmd, cases[i].expected)
	}
	if *rewrite {
		// Keep the leading comment block.
		data, _ := os.ReadFile(file)
		var head []string
		for _, l := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(l, "#") {
				break
			}
			head = append(head, l)
		}
		out := strings.Join(head, "\n")
		if out != "" {
			out += "\n\n"
		}
		if err := os.WriteFile(file, []byte(out+b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type scriptHarness struct {
	nodes   []*Node[int]
	crashed []bool
	queue   []Message[int]
	held    []Message[int]
}

// scriptCmd is one command of a script: its words, and the test.
type scriptCmd struct {
	t   *testing.T
	cmd string
	f   []string
}

// num is the command's i-th word as a number.
func (c scriptCmd) num(i int) int {
	if i >= len(c.f) {
		c.t.Fatalf("%q: missing argument %d", c.cmd, i)
	}
	n, err := strconv.Atoi(c.f[i])
	if err != nil {
		c.t.Fatalf("%q: %v", c.cmd, err)
	}
	return n
}

// scriptCommands are the harness's commands, by their first word.
func scriptCommands() map[string]func(*scriptHarness, scriptCmd, *strings.Builder) {
	return map[string]func(*scriptHarness, scriptCmd, *strings.Builder){
		"cores":   (*scriptHarness).cores,
		"put":     (*scriptHarness).write,
		"del":     (*scriptHarness).write,
		"deliver": (*scriptHarness).deliver,
		"drop":    (*scriptHarness).dropOrDup,
		"dup":     (*scriptHarness).dropOrDup,
		"release": func(h *scriptHarness, _ scriptCmd, _ *strings.Builder) {
			h.queue = append(h.queue, h.held...)
			h.held = nil
		},
		"tick":   (*scriptHarness).tick,
		"crash":  func(h *scriptHarness, c scriptCmd, _ *strings.Builder) { h.crashed[c.num(1)] = true },
		"remove": (*scriptHarness).remove,
		"get":    (*scriptHarness).get,
		"state":  (*scriptHarness).state,
	}
}

func (h *scriptHarness) run(t *testing.T, cmd string) string {
	c := scriptCmd{t: t, cmd: cmd, f: strings.Fields(cmd)}
	do, ok := scriptCommands()[c.f[0]]
	if !ok {
		t.Fatalf("unknown command %q", cmd)
	}
	var out strings.Builder
	do(h, c, &out)
	h.collect(&out)
	if out.Len() == 0 {
		return "ok"
	}
	return out.String()
}

// cores N: a fresh set of N nodes.
func (h *scriptHarness) cores(c scriptCmd, out *strings.Builder) {
	n := c.num(1)
	h.nodes, h.crashed, h.queue = nil, make([]bool, n), nil
	for i := range n {
		nd, err := NewNode[int](Config{ID: CoreID(i), Cores: n, PrepareTimeout: 10, ResendInterval: 3, QueryInterval: 4})
		if err != nil {
			c.t.Fatal(err)
		}
		h.nodes = append(h.nodes, nd)
	}
	fmt.Fprintf(out, "ok")
}

// put CORE KEY VALUE, del CORE KEY: a write started on a core.
func (h *scriptHarness) write(c scriptCmd, out *strings.Builder) {
	n := h.nodes[c.num(1)]
	var r Result
	if c.f[0] == "put" {
		r = n.Put(c.f[2], c.num(3))
	} else {
		r = n.Delete(c.f[2])
	}
	fmt.Fprintf(out, "tx %d.%d %s", r.Tx.Core, r.Tx.Seq, r.Outcome)
	if r.Outcome != Pending {
		fmt.Fprintf(out, " (%s)", r.Reason)
	}
	out.WriteString("\n")
}

// deliver [N]: the first N queued messages (all by default), in order; a
// crashed core's are lost.
func (h *scriptHarness) deliver(c scriptCmd, out *strings.Builder) {
	k := len(h.queue)
	if len(c.f) > 1 {
		k = min(c.num(1), k)
	}
	batch := slices.Clone(h.queue[:k])
	h.queue = slices.Delete(h.queue, 0, k)
	for _, m := range batch {
		if h.crashed[m.To] {
			fmt.Fprintf(out, "lost %v\n", m)
			continue
		}
		fmt.Fprintf(out, "deliver %v\n", m)
		if err := h.nodes[m.To].Step(m); err != nil {
			fmt.Fprintf(out, "  error: %v\n", err)
		}
		h.collect(out)
	}
}

// drop FROM TO TYPE removes the queued messages of that type between two
// cores; dup FROM TO TYPE holds copies of them for release.
func (h *scriptHarness) dropOrDup(c scriptCmd, out *strings.Builder) {
	from, to := CoreID(c.num(1)), CoreID(c.num(2))
	match := func(m Message[int]) bool { return m.From == from && m.To == to && m.Type.String() == c.f[3] }
	if c.f[0] == "drop" {
		h.queue = slices.DeleteFunc(h.queue, func(m Message[int]) bool {
			if match(m) {
				fmt.Fprintf(out, "drop %v\n", m)
				return true
			}
			return false
		})
		return
	}
	for _, m := range h.queue {
		if match(m) {
			fmt.Fprintf(out, "dup %v\n", m)
			h.held = append(h.held, m)
		}
	}
}

// tick CORE|all [TIMES]: the cores' clocks advance.
func (h *scriptHarness) tick(c scriptCmd, _ *strings.Builder) {
	times := 1
	if len(c.f) > 2 {
		times = c.num(2)
	}
	for range times {
		for i, n := range h.nodes {
			if (c.f[1] == "all" || c.f[1] == strconv.Itoa(i)) && !h.crashed[i] {
				n.Tick()
			}
		}
	}
}

// remove CORE: the live cores stop counting on a (crashed) core.
func (h *scriptHarness) remove(c scriptCmd, _ *strings.Builder) {
	for i, n := range h.nodes {
		if !h.crashed[i] {
			n.RemovePeer(CoreID(c.num(1)))
		}
	}
}

// get KEY: the key's value on each live core.
func (h *scriptHarness) get(c scriptCmd, out *strings.Builder) {
	for i, n := range h.nodes {
		if h.crashed[i] {
			continue
		}
		if v, ok := n.Get(c.f[1]); ok {
			fmt.Fprintf(out, "c%d: %s=%d\n", i, c.f[1], v)
		} else {
			fmt.Fprintf(out, "c%d: %s absent\n", i, c.f[1])
		}
	}
}

// state: each live core's locks and transactions in flight.
func (h *scriptHarness) state(_ scriptCmd, out *strings.Builder) {
	for i, n := range h.nodes {
		if h.crashed[i] {
			continue
		}
		var locks []string
		for k, tx := range n.locks {
			locks = append(locks, fmt.Sprintf("%s:%d.%d", k, tx.Core, tx.Seq))
		}
		slices.Sort(locks)
		c, p := n.InFlight()
		fmt.Fprintf(out, "c%d: locks=%v coordinating=%d prepared=%d unacked-commits=%d\n", i, locks, c, p, len(n.commits))
	}
}

// collect carries out every node's Ready: queue messages, print decisions
// and applied writes.
func (h *scriptHarness) collect(out *strings.Builder) {
	for i, n := range h.nodes {
		if !n.HasReady() {
			continue
		}
		rd := n.Ready()
		h.queue = append(h.queue, rd.Messages...)
		for _, m := range rd.Messages {
			fmt.Fprintf(out, "  c%d sends %v\n", i, m)
		}
		for _, d := range rd.Decisions {
			fmt.Fprintf(out, "  c%d decides tx %d.%d %s (%s) after %d ticks\n", i, d.Tx.Core, d.Tx.Seq, d.Outcome, d.Reason, d.Ticks)
		}
		for _, a := range rd.Applied {
			fmt.Fprintf(out, "  c%d applies tx %d.%d %s %q=%d\n", i, a.Tx.Core, a.Tx.Seq, a.Op.Kind, a.Op.Key, a.Op.Value)
		}
		n.Advance()
	}
}
