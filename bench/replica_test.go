package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReplicaRun measures a two-core machine once: every figure is positive,
// each replicated write costs exactly 4 messages (Prepare, Vote, Commit, Ack)
// when no tick re-sent anything and no write was retried, and never fewer (a
// loaded host delays an ack past the resend interval, and a re-sent Commit
// is acked again), and the plot is written.
func TestReplicaRun(t *testing.T) {
	if testing.Short() {
		t.Skip("boots machines for about two seconds")
	}
	r, err := replicaRun(2)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{"replicated reads": r.repReads, "shared reads": r.shReads, "replicated latency": r.repLat, "shared latency": r.shLat, "sloppy": r.sloppy, "atomic": r.atomic, "one-way": r.oneWay} {
		if v <= 0 {
			t.Errorf("%s = %v", name, v)
		}
	}
	quiet := r.repTimeouts == 0 && r.repRetries == 0 && r.timerMsgs == 0
	if (quiet && r.msgsPerWrite != 4) || r.msgsPerWrite < 4 {
		t.Errorf("%v messages per write on 2 cores, want 4 (%d sent by ticks, %d retries, %d timeouts)", r.msgsPerWrite, r.timerMsgs, r.repRetries, r.repTimeouts)
	}
	if !quiet {
		t.Logf("%v messages per write: %d sent by ticks, %d retries, %d timeouts", r.msgsPerWrite, r.timerMsgs, r.repRetries, r.repTimeouts)
	}
	path := filepath.Join(t.TempDir(), "replica.png")
	if err := replicaPlot(path, []float64{1, 2}, []float64{1, 1.5}, []float64{0.1, 3}, []float64{0.2, 0.3}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("plot: %v", err)
	}
}
