package isle_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
	"isle/internal/trace"
)

// spinMsC spins for argv[1] milliseconds of machine time.
const spinMsC = `
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
	long ms = atol(argv[1]);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	volatile unsigned long n = 0;
	do {
		for (int i = 0; i < 100000; i++)
			n++;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < ms * 1000000L);
	return 0;
}`

// TestTraceBalancerStealsAndRefusals: in a real run whose idle cores ask
// for work, every steal request the kernel counted is in the trace, and
// every refusal and every SIP given to a thief answers a steal request
// that the thief's track shows before it. Three cores: three long
// spinners on core 0, a short one on each of cores 1 and 2; when the short
// ones end, cores 1 and 2 go idle together and ask a core with spinners
// waiting, which gives them one or, when it has just given its last
// waiting one away (to a push or to the other thief), refuses. Which core
// asks whom, and whether a push came first, is timing's: the run is
// repeated, at most five times, until a steal request is answered.
func TestTraceBalancerStealsAndRefusals(t *testing.T) {
	spin := testprog.C(t, spinMsC)
	for try := range 5 {
		d, stats := stealRun(t, spin)
		asked := map[[2]int]int64{} // thief, victim: the first request's time
		var answers []string
		for _, r := range d.TrackEvents {
			dec, ok := r.Arg("decision")
			if !ok {
				continue
			}
			var self, peer int
			fmt.Sscanf(d.Tracks[r.Track].Name, "core %d", &self)
			if i := strings.Index(r.Name, "core "); i < 0 {
				t.Fatalf("%s: %q names no core", d.Tracks[r.Track].Name, r.Name)
			} else {
				fmt.Sscanf(r.Name[i:], "core %d", &peer)
			}
			switch trace.Decision(dec) {
			case trace.AskSteal:
				if _, ok := asked[[2]int{self, peer}]; !ok {
					asked[[2]int{self, peer}] = r.Time
				}
				stats[self]--
			case trace.Refuse, trace.GiveSteal:
				if at, ok := asked[[2]int{peer, self}]; !ok || at > r.Time {
					t.Errorf("core %d: %q at %d answers no steal request of core %d before it", self, r.Name, r.Time, peer)
				}
				answers = append(answers, r.Name)
			}
		}
		for c, n := range stats {
			if n != 0 {
				t.Errorf("core %d: %d steal requests counted and not in the trace", c, n)
			}
		}
		if t.Failed() || len(answers) > 0 {
			t.Logf("run %d: %d steal requests answered: %v", try+1, len(answers), answers)
			return
		}
		t.Logf("run %d: no steal request answered:\n%s", try+1, balanceLines(d))
	}
	t.Fatal("in five runs, no core's steal request was answered")
}

// stealRun runs the spinners of TestTraceBalancerStealsAndRefusals and
// returns the decoded trace and each core's count of steal requests.
func stealRun(t *testing.T, spin string) (*trace.Decoded, []int) {
	var tr, out bytes.Buffer
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(3).WithOversubscribe(true).WithStdio(strings.NewReader(""), &out, &out).WithTrace(&tr, 0))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, spin)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*isle.Process
	for _, run := range []struct{ core, ms int }{{0, 60}, {0, 60}, {0, 60}, {1, 10}, {2, 10}} {
		p, err := m.SpawnOn(prog, []string{"spin", fmt.Sprint(run.ms)}, run.core)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("spinner: %+v; output %s", st, out.String())
		}
	}
	m.Stop(ctx)
	d, err := trace.Decode(tr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var asked []int
	for _, c := range m.Stats() {
		asked = append(asked, int(c.StealsAsked))
	}
	return d, asked
}
