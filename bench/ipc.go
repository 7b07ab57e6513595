package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"isle"
)

// Sizes of the ipc suite. Each session measures every row once, so noise
// from the rest of the machine falls on both sides of a ratio; the best
// session is the figure.
//
// The SIP ping-pongs run long enough (~50-100 ms) to measure the steady
// state: on this shared VM a core's thread is now and then descheduled for
// hundreds of microseconds, and the first milliseconds of a machine see the
// most of it. Ping-pongs also report the median over batches of 16 rounds
// (pingpongBatch), for SIPs and for Linux alike: the typical round trip,
// which such stalls do not move.
const (
	ipcSessions     = 5
	sipSameRounds   = 50_000
	sipCrossRounds  = 50_000
	linuxSameRounds = 20_000
	linuxCrossRound = 5_000
	pingpongBatch   = 16
	stepRounds      = 100_000 // messages sent and received by steps.c
	percentiles     = 101     // a ping-pong's percentiles 0 to 100, for the plot
	blockRounds4K   = 20_000
	blockRounds1M   = 200
	payloadRounds   = 20_000 // per ping-pong of payloadSizes
)

// IPC is the ipc suite (issue 5): a message and its reply between two SIPs
// over a channel (examples/pingpong), on one core and across two, beside a
// Linux pipe and a Unix socket between two processes on one CPU and across
// two; and the cost of sending an exchange-heap block of 4 KiB and 1 MiB
// (moving it, and with the copy in and out of the guest).
func IPC(log io.Writer) ([]Row, error) {
	cpus, err := twoCPUs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "isle-bench-ipc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	progs, err := buildIPCPrograms(dir)
	if err != nil {
		return nil, err
	}
	// Ping-pongs by payload size: a Ping of 8 bytes travels inline (in
	// the kernel's message slot, docs/ipc.md), the larger ones as packets.
	payloadSizes := []int{8, 64, 256, 1024}
	ms := ipcMeasures(dir, progs, cpus, payloadSizes)
	best, dist, err := ipcSessionsBest(log, ms)
	if err != nil {
		return nil, err
	}
	if err := ipcPlot(log, dist); err != nil {
		return nil, err
	}
	var rows []Row
	for _, m := range ms {
		for _, name := range m.names {
			rows = append(rows, Row{Name: name, Value: best[name], Unit: "ns"})
		}
	}
	rows = append(rows, ipcDerivedRows(best)...)
	return append(rows, ipcRatioRows(best, payloadSizes)...), nil
}

// An ipcMeasure gives one value per name: a ping-pong its mean round trip,
// then its median over batches (and then, for the plot, its percentiles).
type ipcMeasure struct {
	names []string
	f     func() ([]float64, error)
}

// ipcMeasures lists the ipc suite's measurements in the order a session
// takes them.
func ipcMeasures(dir string, progs map[string]string, cpus [2]int, payloadSizes []int) []ipcMeasure {
	median := func(name string) []string { return []string{name, strings.TrimSuffix(name, "_ns") + "_median_ns"} }
	sip := func(cores, clientCore, rounds int) func() ([]float64, error) {
		return func() ([]float64, error) { return sipPingPong(dir, progs, cores, clientCore, rounds) }
	}
	sized := func(cores, clientCore, size int) func() ([]float64, error) {
		return func() ([]float64, error) {
			return sipPingPongSized(dir, progs, nil, cores, clientCore, payloadRounds, size)
		}
	}
	linux := func(bin string, a, b, rounds int) func() ([]float64, error) {
		return func() ([]float64, error) {
			return runNs(progs[bin], strconv.Itoa(rounds), strconv.Itoa(a), strconv.Itoa(b), strconv.Itoa(pingpongBatch), "percentiles")
		}
	}
	block := func(size, rounds int, copyBytes bool) func() ([]float64, error) {
		return func() ([]float64, error) {
			v, err := sipBlocks(dir, progs, size, rounds, copyBytes)
			return []float64{v}, err
		}
	}
	ms := []ipcMeasure{
		{median("sip_pingpong_same_core_ns"), sip(1, 0, sipSameRounds)},
		{[]string{"sip_send_ns", "sip_recv_found_ns"}, func() ([]float64, error) { return sipSteps(dir, progs, stepRounds) }},
		{median("linux_pipe_pingpong_same_ns"), linux("pipe", cpus[0], cpus[0], linuxSameRounds)},
		{[]string{"linux_unix_socket_pingpong_same_ns"}, linux("unix", cpus[0], cpus[0], linuxSameRounds)},
		{median("sip_pingpong_cross_core_ns"), sip(2, 1, sipCrossRounds)},
		{median("sip_pingpong_cross_core_traced_ns"), func() ([]float64, error) { return sipPingPongTraced(dir, progs, sipCrossRounds) }},
		{median("sip_pingpong_cross_core_traced_calls_ns"), func() ([]float64, error) { return sipPingPongTracedCalls(dir, progs, sipCrossRounds) }},
		{median("sip_pingpong_cross_core_after_migration_ns"), func() ([]float64, error) { return sipPingPongMoved(dir, progs, sipCrossRounds) }},
		{median("linux_pipe_pingpong_cross_ns"), linux("pipe", cpus[0], cpus[1], linuxCrossRound)},
	}
	for _, n := range payloadSizes {
		ms = append(ms,
			ipcMeasure{median(fmt.Sprintf("sip_pingpong_same_core_payload_%d_ns", n)), sized(1, 0, n)},
			ipcMeasure{median(fmt.Sprintf("sip_pingpong_cross_core_payload_%d_ns", n)), sized(2, 1, n)})
	}
	return append(ms, []ipcMeasure{
		{[]string{"block_send_4k_ns"}, block(4<<10, blockRounds4K, false)},
		{[]string{"block_send_1m_ns"}, block(1<<20, blockRounds4K, false)},
		{[]string{"block_send_copy_4k_ns"}, block(4<<10, blockRounds4K, true)},
		{[]string{"block_send_copy_1m_ns"}, block(1<<20, blockRounds1M, true)},
	}...)
}

// ipcSessionsBest takes every measure once per session, ipcSessions times,
// and returns the best (lowest) value of each name; and dist[name], the
// percentiles of the ping-pong's batches in the session whose median was
// best, for the plot.
func ipcSessionsBest(log io.Writer, ms []ipcMeasure) (best map[string]float64, dist map[string][]float64, err error) {
	best = map[string]float64{}
	dist = map[string][]float64{}
	for s := range ipcSessions {
		runtime.GC()
		for _, m := range ms {
			vs, err := m.f()
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", m.names[0], err)
			}
			if len(vs) < len(m.names) {
				return nil, nil, fmt.Errorf("%s: %d values, want %d", m.names[0], len(vs), len(m.names))
			}
			if len(m.names) == 2 && len(vs) == 2+percentiles {
				if v, ok := best[m.names[1]]; !ok || vs[1] < v {
					dist[m.names[0]] = vs[2:]
				}
			}
			for i, name := range m.names {
				if v, ok := best[name]; !ok || vs[i] < v {
					best[name] = vs[i]
				}
			}
		}
		fmt.Fprintf(log, "ipc: session %d of %d\n", s+1, ipcSessions)
	}
	return best, dist, nil
}

// ipcDerivedRows splits the same-core one way into its steps.
//
// One way of the same-core ping-pong is a send, the direct switch to the
// receiver (docs/kernel.md) and a receive that finds the message; the
// switch is what is left when the send and the receive, measured on their
// own (medians, as the ping-pong's), are taken off. What else one way does
// counts in it too: the guest's code between the calls (the stubs'
// encoding and checks) and the receive that found nothing and blocked, on
// the other side, before the switch back.
func ipcDerivedRows(best map[string]float64) []Row {
	oneway := best["sip_pingpong_same_core_median_ns"] / 2
	return []Row{
		{Name: "sip_same_core_oneway_median_ns", Value: oneway, Unit: "ns (send + switch + recv)"},
		{Name: "sip_direct_switch_ns", Value: oneway - best["sip_send_ns"] - best["sip_recv_found_ns"], Unit: "ns (derived: oneway - send - recv; with the guest's code and the blocking recv)"},
	}
}

// ipcRatioRows are the ipc suite's ratios: each ping-pong beside its
// baseline of the same run.
func ipcRatioRows(best map[string]float64, payloadSizes []int) []Row {
	rows := []Row{
		{Name: "pipe_same_over_sip_same", Value: best["linux_pipe_pingpong_same_ns"] / best["sip_pingpong_same_core_ns"], Unit: "x (target >= 5)"},
		{Name: "pipe_same_over_sip_same_median", Value: best["linux_pipe_pingpong_same_median_ns"] / best["sip_pingpong_same_core_median_ns"], Unit: "x (medians)"},
		{Name: "pipe_cross_over_sip_cross", Value: best["linux_pipe_pingpong_cross_ns"] / best["sip_pingpong_cross_core_ns"], Unit: "x (target >= 20)"},
		{Name: "pipe_cross_over_sip_cross_median", Value: best["linux_pipe_pingpong_cross_median_ns"] / best["sip_pingpong_cross_core_median_ns"], Unit: "x (medians)"},
		{Name: "traced_over_cross", Value: best["sip_pingpong_cross_core_traced_ns"] / best["sip_pingpong_cross_core_ns"], Unit: "x (target <= 1.05)"},
		{Name: "traced_over_cross_median", Value: best["sip_pingpong_cross_core_traced_median_ns"] / best["sip_pingpong_cross_core_median_ns"], Unit: "x (medians)"},
		{Name: "traced_calls_over_cross", Value: best["sip_pingpong_cross_core_traced_calls_ns"] / best["sip_pingpong_cross_core_ns"], Unit: "x (with --trace-calls)"},
		{Name: "traced_calls_over_cross_median", Value: best["sip_pingpong_cross_core_traced_calls_median_ns"] / best["sip_pingpong_cross_core_median_ns"], Unit: "x (medians)"},
		{Name: "after_migration_over_cross", Value: best["sip_pingpong_cross_core_after_migration_ns"] / best["sip_pingpong_cross_core_ns"], Unit: "x (target <= 1.2)"},
		{Name: "after_migration_over_cross_median", Value: best["sip_pingpong_cross_core_after_migration_median_ns"] / best["sip_pingpong_cross_core_median_ns"], Unit: "x (medians)"},
	}
	for _, n := range payloadSizes {
		for _, where := range []string{"same", "cross"} {
			name := fmt.Sprintf("sip_pingpong_%s_core_payload_%d_median_ns", where, n)
			rows = append(rows, Row{Name: fmt.Sprintf("payload_%d_over_empty_%s_median", n, where),
				Value: best[name] / best["sip_pingpong_"+where+"_core_median_ns"], Unit: "x (the empty Ping's round trip is the baseline)"})
		}
	}
	return rows
}

// sourceRoot is the isle source tree this package was built from: the
// suite builds examples/pingpong with clang from it.
func sourceRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot find the source tree")
	}
	root := filepath.Dir(filepath.Dir(file))
	if _, err := os.Stat(filepath.Join(root, "guest", "c", "isle.h")); err != nil {
		return "", fmt.Errorf("the ipc suite builds its programs from the source tree (%s): %v", root, err)
	}
	return root, nil
}

func buildIPCPrograms(dir string) (map[string]string, error) {
	root, err := sourceRoot()
	if err != nil {
		return nil, err
	}
	progs := map[string]string{}
	inc := []string{"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "pingpong", "c")}
	for name, src := range map[string]string{"blocks.c": blocksC, "moved.c": movedServerC, "steps.c": stepsC} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return nil, err
		}
	}
	for name, src := range map[string]string{
		"server": filepath.Join(root, "examples", "pingpong", "c", "server.c"),
		"client": filepath.Join(root, "examples", "pingpong", "c", "client.c"),
		"blocks": filepath.Join(dir, "blocks.c"),
		"moved":  filepath.Join(dir, "moved.c"),
		"steps":  filepath.Join(dir, "steps.c"),
	} {
		out := filepath.Join(dir, name+".wasm")
		args := append([]string{"--target=wasm32-wasi", "-O2", "-Wl,--strip-all", "-o", out, src}, inc...)
		if b, err := exec.Command("clang", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("clang %s: %v: %s", name, err, strings.TrimSpace(string(b)))
		}
		progs[name] = out
	}
	for name, src := range map[string][]byte{"pipe": pipePingPongC, "unix": []byte(unixPingPongC)} {
		c := filepath.Join(dir, name+".c")
		bin := filepath.Join(dir, name)
		if err := os.WriteFile(c, src, 0o644); err != nil {
			return nil, err
		}
		if b, err := exec.Command("cc", "-O2", "-o", bin, c).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cc %s: %v: %s", name, err, strings.TrimSpace(string(b)))
		}
		progs[name] = bin
	}
	return progs, nil
}

// runNs runs a baseline program and returns the numbers it prints.
func runNs(bin string, args ...string) ([]float64, error) {
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Base(bin), err)
	}
	var vs []float64
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%s printed %q", filepath.Base(bin), out)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

var nsPerRound = regexp.MustCompile(`(\d+) ns/round \(median of batches of \d+: (\d+) ns/round\)`)

// sipPingPong boots a machine, runs examples/pingpong's server on core 0 and
// its client on clientCore, and returns the client's mean round trip and its
// median over batches.
func sipPingPong(dir string, progs map[string]string, cores, clientCore, rounds int) ([]float64, error) {
	return sipPingPongWith(dir, progs, nil, cores, clientCore, rounds)
}

// sipPingPongTraced is the cross-core sipPingPong with tracing on (docs/trace.md):
// every core records its events in its ring, and the trace is written, to
// nowhere, when the machine stops, after the client has timed its rounds.
func sipPingPongTraced(dir string, progs map[string]string, rounds int) ([]float64, error) {
	on := func(c isle.Config) isle.Config { return c.WithTrace(io.Discard, 0) }
	return sipPingPongWith(dir, progs, on, 2, 1, rounds)
}

// sipPingPongTracedCalls is sipPingPongTraced with every system call
// traced too (--trace-calls).
func sipPingPongTracedCalls(dir string, progs map[string]string, rounds int) ([]float64, error) {
	on := func(c isle.Config) isle.Config { return c.WithTrace(io.Discard, 0).WithTraceCalls(true) }
	return sipPingPongWith(dir, progs, on, 2, 1, rounds)
}

func sipPingPongWith(dir string, progs map[string]string, cfg func(isle.Config) isle.Config, cores, clientCore, rounds int) ([]float64, error) {
	return sipPingPongSized(dir, progs, cfg, cores, clientCore, rounds, 0)
}

// sipPingPongSized is sipPingPongWith with Pings of size bytes of payload
// (the Pongs echo them).
func sipPingPongSized(dir string, progs map[string]string, cfg func(isle.Config) isle.Config, cores, clientCore, rounds, size int) ([]float64, error) {
	out, err := runSIPsWith(dir, cfg, cores, []sipRun{
		{progs["server"], []string{"server", "1"}, 0},
		{progs["client"], []string{"client", strconv.Itoa(rounds), strconv.Itoa(size), "pingpong", "percentiles"}, clientCore},
	})
	if err != nil {
		return nil, err
	}
	m := nsPerRound.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("the client printed %q", out)
	}
	mean, _ := strconv.ParseFloat(m[1], 64)
	med, _ := strconv.ParseFloat(m[2], 64)
	vs := []float64{mean, med}
	if _, ps, ok := strings.Cut(out, "(ns/round):"); ok {
		ps, _, _ = strings.Cut(ps, "\n")
		for _, f := range strings.Fields(ps) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("the client printed %q", out)
			}
			vs = append(vs, v)
		}
	}
	return vs, nil
}

// sipPingPongMoved is sipPingPong with a server that has migrated: on a
// machine of three cores, movedServerC registers on core 2, then moves to
// core 1 and on to core 0, so the name's route and the client's route made
// from it name core 2, two hops behind; the client runs on core 1, so the
// ping-pong crosses the same two cores as sipPingPong's. The rounds show
// what the route update (docs/ipc.md) leaves of the detour.
func sipPingPongMoved(dir string, progs map[string]string, rounds int) ([]float64, error) {
	out, err := runSIPs(dir, 3, []sipRun{
		{progs["moved"], []string{"moved"}, 2},
		{progs["client"], []string{"client", strconv.Itoa(rounds)}, 1},
	})
	if err != nil {
		return nil, err
	}
	m := nsPerRound.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("the client printed %q", out)
	}
	mean, _ := strconv.ParseFloat(m[1], 64)
	med, _ := strconv.ParseFloat(m[2], 64)
	return []float64{mean, med}, nil
}

// sipBlocks runs blocks.c: one SIP sends a block to itself over a channel.
func sipBlocks(dir string, progs map[string]string, size, rounds int, copyBytes bool) (float64, error) {
	c := "0"
	if copyBytes {
		c = "1"
	}
	out, err := runSIPs(dir, 1, []sipRun{{progs["blocks"], []string{"blocks", strconv.Itoa(size), strconv.Itoa(rounds), c}, 0}})
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(out), 64)
}

type sipRun struct {
	path string
	args []string
	core int
}

func runSIPs(dir string, cores int, runs []sipRun) (string, error) {
	return runSIPsWith(dir, nil, cores, runs)
}

// runSIPsWith is runSIPs on a machine whose config cfg (when not nil) changes.
func runSIPsWith(dir string, cfg func(isle.Config) isle.Config, cores int, runs []sipRun) (string, error) {
	ctx := context.Background()
	var out, errs bytes.Buffer
	c := isle.NewConfig().WithCores(cores).WithOversubscribe(true).
		WithCacheDir(filepath.Join(dir, "cache")).WithStdio(strings.NewReader(""), &out, &errs)
	if cfg != nil {
		c = cfg(c)
	}
	m, err := isle.Boot(ctx, c)
	if err != nil {
		return "", err
	}
	defer m.Stop(ctx)
	var ps []*isle.Process
	for _, r := range runs {
		prog, err := m.Load(ctx, r.path)
		if err != nil {
			return "", err
		}
		p, err := m.SpawnOn(prog, r.args, r.core)
		if err != nil {
			return "", err
		}
		ps = append(ps, p)
	}
	for _, p := range slices.Backward(ps) {
		if st := p.Wait(); st.Status() != 0 {
			return "", fmt.Errorf("a SIP exited with %d: %s", st.Status(), strings.TrimSpace(errs.String()))
		}
	}
	m.Stop(ctx)
	return out.String(), nil
}

// blocksC sends one exchange-heap block from a SIP to itself, ROUNDS times,
// optionally writing it before and reading it after each send, and prints
// the mean nanoseconds per send.
const blocksC = `#include <stdio.h>
#include <time.h>
#include "isle.h"

static const char src[] = "contract Blk {\n msg B()\n initial final state S { imp B -> S }\n}\n";
static uint8_t data[1 << 20];

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	uint32_t size = (uint32_t)atol(argv[1]);
	long rounds = atol(argv[2]);
	int copy = atoi(argv[3]);
	isle_handle imp, exp, b;
	isle_recv_info info;
	uint8_t buf[8];
	if (isle_channel_create(src, sizeof src - 1, "Blk", 3, &imp, &exp) || isle_block_alloc(size, &b)) return 1;
	long long t0 = now();
	for (long r = 0; r < rounds; r++) {
		if (copy && isle_block_write(b, 0, data, size)) return 2;
		if (isle_send(imp, 0, 0, 0, &b, 1)) return 3;
		if (isle_recv(exp, buf, sizeof buf, &info, 0) || info.nblocks != 1) return 4;
		b = info.blocks[0];
		if (copy && isle_block_read(b, 0, data, size)) return 5;
	}
	printf("%lld\n", (now() - t0) / rounds);
	return 0;
}
`

// sipSteps runs steps.c and returns the send and the receive that finds
// its message, in ns (medians over batches of 64).
func sipSteps(dir string, progs map[string]string, rounds int) ([]float64, error) {
	out, err := runSIPs(dir, 1, []sipRun{{progs["steps"], []string{"steps", strconv.Itoa(rounds)}, 0}})
	if err != nil {
		return nil, err
	}
	var send, recv float64
	if _, err := fmt.Sscanf(out, "%g %g", &send, &recv); err != nil {
		return nil, fmt.Errorf("steps printed %q", out)
	}
	return []float64{send, recv}, nil
}

// stepsC times the two halves of a message on one core apart: ROUNDS
// 8-byte messages from a SIP to its own other end, sent 64 at a time (no
// receiver is woken, so no switch) and then received 64 at a time (each
// receive finds its message). It prints the median over the batches of the
// mean send and of the mean receive in ns (the median, as the ping-pongs'
// is, so that the host's stalls do not move it); the clock is read once per
// 64 calls.
const stepsC = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "isle.h"

static const char src[] = "contract Steps {\n msg Item(n u64)\n initial final state S { imp Item -> S }\n}\n";

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	long rounds = atol(argv[1]) / 64;
	isle_handle imp, exp;
	isle_recv_info info;
	uint8_t msg[8] = {0}, buf[8];
	long long *send = malloc(rounds * sizeof *send), *recv = malloc(rounds * sizeof *recv);
	if (rounds < 1 || !send || !recv) return 1;
	if (isle_channel_create(src, sizeof src - 1, "Steps", 5, &imp, &exp)) return 1;
	for (long r = 0; r < rounds; r++) {
		long long t0 = now();
		for (int i = 0; i < 64; i++)
			if (isle_send(imp, 0, msg, sizeof msg, 0, 0)) return 2;
		long long t1 = now();
		for (int i = 0; i < 64; i++)
			if (isle_recv(exp, buf, sizeof buf, &info, 0) || info.len != 8) return 3;
		send[r] = t1 - t0;
		recv[r] = now() - t1;
	}
	qsort(send, rounds, sizeof *send, cmp);
	qsort(recv, rounds, sizeof *recv, cmp);
	printf("%.1f %.1f\n", send[rounds / 2] / 64.0, recv[rounds / 2] / 64.0);
	return 0;
}
`

// movedServerC is examples/pingpong's server for one client, which moves
// (isle's move call, kernel.SIP.MoveTo) to core 1 and then core 0 between
// registering and accepting.
const movedServerC = `#include <stdio.h>
#include "pingpong.h"

__attribute__((import_module("isle"), import_name("move"))) int isle_move(uint32_t core);

static uint8_t buf[1 << 16];

int main(void) {
	isle_handle listener;
	PingPong_exp client;
	int err;
	if ((err = PingPong_register("pingpong", &listener)) || (err = isle_move(1)) || (err = isle_move(0)) ||
	    (err = PingPong_accept(listener, &client))) {
		fprintf(stderr, "moved server: %s\n", isle_strerror(err));
		return 1;
	}
	long pings = 0;
	for (;;) {
		PingPong_msg m;
		if ((err = PingPong_exp_recv(client, &m, buf, sizeof buf))) {
			fprintf(stderr, "moved server: recv: %s\n", isle_strerror(err));
			return 1;
		}
		if (m.id != PingPong_Ping_ID)
			break;
		pings++;
		if ((err = PingPong_exp_send_Pong(client, m.u.Ping.seq, m.u.Ping.payload))) {
			fprintf(stderr, "moved server: send: %s\n", isle_strerror(err));
			return 1;
		}
	}
	PingPong_exp_close(client);
	isle_close(listener);
	printf("server: %ld pings\n", pings);
	return 0;
}
`

// unixPingPongC is the Unix-socket baseline: two processes, pinned, bounce
// a byte through a socketpair. Prints the mean round trip in nanoseconds.
const unixPingPongC = `#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) { perror("sched_setaffinity"); exit(1); }
}

int main(int argc, char **argv) {
	long rounds = atol(argv[1]);
	int sv[2];
	char c = 'x';
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { perror("socketpair"); return 1; }
	pid_t pid = fork();
	if (pid == 0) {
		pin(atoi(argv[3]));
		for (long i = 0; i < rounds + rounds / 8 + 1; i++) {
			if (read(sv[1], &c, 1) != 1 || write(sv[1], &c, 1) != 1) exit(1);
		}
		exit(0);
	}
	pin(atoi(argv[2]));
	struct timespec a, b;
	for (long i = 0; i < rounds / 8 + 1; i++) {
		if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1) return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < rounds; i++) {
		if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1) return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	waitpid(pid, 0, 0);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / rounds);
	return 0;
}
`
