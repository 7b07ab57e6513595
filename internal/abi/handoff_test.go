package abi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"isle"
)

// pingPongOneCore boots a one-core machine, runs examples/pingpong's server
// and a client of rounds rounds on it (and spin.c beside them for spinMS
// milliseconds, if spinMS > 0), and returns the core's counters, the CPU
// times of client and server and the spinner's while they ran (from its
// CPU time read when the client was spawned and when the pair had ended),
// and what the SIPs printed.
func pingPongOneCore(t *testing.T, rounds, spinMS int) (isle.CoreStats, [3]time.Duration, string) {
	t.Helper()
	server := buildC(t, "examples/pingpong/c/server.c")
	client := buildC(t, "examples/pingpong/c/client.c")
	ctx := context.Background()
	var out, errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir(t.TempDir()).WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	sp, err := m.Load(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := m.Load(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	var spinner *isle.Process
	if spinMS > 0 {
		prog, err := m.Load(ctx, buildC(t, "internal/abi/testdata/spin.c"))
		if err != nil {
			t.Fatal(err)
		}
		if spinner, err = m.SpawnOn(prog, []string{"spin", strconv.Itoa(spinMS)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	s, err := m.SpawnOn(sp, []string{"server", "1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.SpawnOn(cp, []string{"client", strconv.Itoa(rounds), "8"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var spinBefore time.Duration
	if spinner != nil {
		spinBefore = spinner.CPUTime()
	}
	for _, p := range []*isle.Process{c, s} {
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("%+v; stderr %s", st, errs.String())
		}
	}
	cpu := [3]time.Duration{c.CPUTime(), s.CPUTime()}
	if spinner != nil {
		cpu[2] = spinner.CPUTime() - spinBefore
		if st := spinner.Wait(); st.Status() != 0 {
			t.Fatalf("spinner: %+v", st)
		}
	}
	m.Stop(ctx)
	if !strings.Contains(out.String(), "client: "+strconv.Itoa(rounds)+" rounds") {
		t.Fatalf("the client did not finish:\n%s%s", out.String(), errs.String())
	}
	if spinner != nil && strings.Index(out.String(), "spin: ") < strings.Index(out.String(), "client: ") {
		t.Fatalf("the spinner ended before the ping-pong: make it spin longer")
	}
	return m.Stats()[0], cpu, out.String()
}

// TestDirectSwitch: on one core, a Ping hands the core straight from the
// client to the server blocked in its receive, and the client's receive
// then finds the Pong without a switch: one switch a round, not two (as
// before the direct switch: 6,005 switches for 3,000 rounds). A Ping sent
// when the client's slice is spent goes through the loop (the client is
// about to be preempted), which the race detector's slowness makes happen
// a few times in a thousand.
func TestDirectSwitch(t *testing.T) {
	const rounds = 3000
	st, _, _ := pingPongOneCore(t, rounds, 0)
	t.Logf("switches %d, direct %d, for %d rounds", st.Switches, st.DirectSwitches, rounds)
	if st.DirectSwitches < rounds*9/10 {
		t.Errorf("%d direct switches for %d rounds, want about one a round", st.DirectSwitches, rounds)
	}
	// A few switches start the SIPs and connect them.
	if st.Switches > rounds*12/10 {
		t.Errorf("%d switches for %d rounds, want about one a round", st.Switches, rounds)
	}
}

// TestDirectSwitchKeepsThirdSIP: a ping-pong pair that hands the core to
// each other on every message does not keep a third SIP, which computes, off
// the core. The third runs beside the ping-pong; its share of the core's
// time while the pair ran (its CPU time then, against the pair's) must be
// at least a fifth (EEVDF gives it about half, the pair being never
// runnable both at once). A direct switch that freed the pair from the
// sender's slice (a mutant that never preempts a sender once it has handed
// over) left it nothing, 250 ms off the core. (The share used to be
// inferred from the spinner's wall-clock life, which a loaded host, giving
// the core less than a CPU, turned negative: -0.37.)
func TestDirectSwitchKeepsThirdSIP(t *testing.T) {
	rounds, spinMS := 100_000, 1500
	if testing.Short() {
		rounds, spinMS = 10_000, 3000
	}
	st, cpu, out := pingPongOneCore(t, rounds, spinMS)
	var gapUS, roundNS int64
	if _, err := fmt.Sscanf(out[strings.Index(out, "spin: "):], "spin: longest off the core %d us", &gapUS); err != nil {
		t.Fatalf("the spinner printed %q", out)
	}
	if _, err := fmt.Sscanf(out[strings.Index(out, "client: "):], "client: %d rounds of 8 bytes, %d ns/round", new(int), &roundNS); err != nil {
		t.Fatalf("the client printed %q", out)
	}
	pingpong := time.Duration(roundNS * int64(rounds))
	share := float64(cpu[2]) / float64(cpu[0]+cpu[1]+cpu[2])
	t.Logf("ping-pong %v (client %v, server %v of CPU); spinner %v of CPU meanwhile, off the core %d us at most: %.2f of the core during the ping-pong; switches %d, direct %d, preempted %d",
		pingpong, cpu[0], cpu[1], cpu[2], gapUS, share, st.Switches, st.DirectSwitches, st.Preemptions)
	if share < 0.2 {
		t.Errorf("the computing SIP had %.0f%% of the core beside the ping-pong pair, want ≥ 20%%", 100*share)
	}
	if st.DirectSwitches < uint64(rounds)/2 {
		t.Errorf("%d direct switches for %d rounds: the pair did not hand the core over", st.DirectSwitches, rounds)
	}
}
