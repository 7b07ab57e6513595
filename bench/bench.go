// Package bench measures isle's mechanisms side by side with the baselines
// they are judged against, all rows of a suite in one run so that the ratios
// between them hold on a noisy machine.
//
// A suite is a function that returns rows; the registry is a table (suites),
// and Main is what `isle bench SUITE [--json]` calls.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Row is one measured figure.
type Row struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Suite is a named set of measurements taken in one run.
type Suite struct {
	Name string
	Doc  string
	Run  func(log io.Writer) ([]Row, error)
}

// Suites returns the registry of suites, sorted by name.
func Suites() []Suite {
	s := []Suite{
		{Name: "cluster", Doc: "two nodes on loopback joined by a link, mutual TLS and plain TCP: examples/pingpong's SIPs across them, the link's own ping-pong and a batched stream of 64-byte messages, beside plain TCP and TLS between two goroutines on two sockets (needs clang and cc)", Run: Cluster},
		{Name: "hostile", Doc: "every attack of testdata/hostile/ beside an honest SIP: the honest SIP's rate beside each, as a share of its rate alone in the same run", Run: Hostile},
		{Name: "ipc", Doc: "channels between SIPs (examples/pingpong) on one core and across two (and across two with tracing on), beside Linux pipes and Unix sockets; exchange-heap block sends", Run: IPC},
		{Name: "replica", Doc: "kernel tables on a booted machine: replicated (2PC) and shared reads per second from 1 to all cores, write latency, 2PC messages per write, sloppy vs atomic counter (ISLE_BENCH_CORES, ISLE_BENCH_PLOT)", Run: Replica},
		{Name: "sched", Doc: "preemption's cost on compute kernels, a yield between two SIPs on one core, spawning a SIP to its exit; beside sched_yield and fork+exec+wait on Linux", Run: Sched},
		{Name: "spawn", Doc: "spawn+exit+wait of a tiny C program from the embedding API and from a parent SIP (one core, two), beside fork+exec+wait and posix_spawn+wait of /bin/true, alternating; memory per idle SIP at 1,000 and 10,000 (Pss and RSS growth)", Run: Spawn},
		{Name: "startup", Doc: "a warm `isle run` of a C and a Go hello world beside a warm `wazero run -cachedir` of the same, whole processes, interleaved (median ms)", Run: Startup},
		{Name: "wasi", Doc: "file read/write MB/s, small-file open+read+close, a 100 MB cat through pipes, 20,000 console writes and a SQLite workload, isle beside wazero's CLI", Run: WASI},
		{Name: "web", Doc: "wrk -t2 -c32 -d5s against examples/httpd/c on isle, nginx, and Go's net/http on isle and natively (when examples/httpd/go is there): req/s, p50/p99, a 5.5 KB page and a 1 MiB file (installs wrk and nginx)", Run: Web},
		{Name: "table1", Doc: "Singularity's Table 1 (Hunt et al., EuroSys 2007) reproduced: a no-op host call, a yield, a 2-message ping-pong and a process create+start, in ns and TSC cycles, isle beside Linux here (getpid, sched_yield, a pipe, fork+exec+wait) and beside the paper's figures, with each ratio", Run: Table1},
		{Name: "urpc", Doc: "cache-line message passing between pinned threads, against a raw cache line, Go channels and Linux pipes", Run: URPC},
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

// Lookup returns the suite called name.
func Lookup(name string) (Suite, bool) {
	for _, s := range Suites() {
		if s.Name == name {
			return s, true
		}
	}
	return Suite{}, false
}

const usage = "usage: bench SUITE [--json]"

// Main runs `bench SUITE [--json]`: a table by default, a JSON array of rows
// with --json. It returns the process exit status: 0 on success, 1 when a
// measurement failed, 2 on a usage error or an unknown suite.
func Main(args []string, stdout, stderr io.Writer) int {
	var name string
	asJSON := false
	for _, a := range args {
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case a == "-h" || a == "--help":
			fmt.Fprintln(stdout, usage)
			for _, s := range Suites() {
				fmt.Fprintf(stdout, "  %-8s %s\n", s.Name, s.Doc)
			}
			return 0
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "bench: unknown flag %s (%s)\n", a, usage)
			return 2
		case name != "":
			fmt.Fprintf(stderr, "bench: one suite at a time (%s)\n", usage)
			return 2
		default:
			name = a
		}
	}
	if name == "" {
		fmt.Fprintf(stderr, "bench: no suite given (%s; suites: %s)\n", usage, suiteNames())
		return 2
	}
	s, ok := Lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "bench: unknown suite %q (suites: %s)\n", name, suiteNames())
		return 2
	}
	rows, err := s.Run(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench %s: %v\n", name, err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	WriteTable(stdout, rows)
	return 0
}

// WriteTable prints rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "name\t value\tunit\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t %s\t%s\t\n", r.Name, formatValue(r.Value), r.Unit)
	}
	tw.Flush()
}

func formatValue(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.4g", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func suiteNames() string {
	var n []string
	for _, s := range Suites() {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}
