package hostile

import (
	"context"
	"testing"
	"time"

	"isle"
)

// RunCalls loads mod (a program of host calls made by wasmbin.CallsModule),
// runs it on m with args, and checks that every call came back to the
// guest: no trap (a Go panic in a handler shows as one) and no kill. The
// program must end within limit, unless mayOutlive: then one still running
// at the limit passes (a WASI poll with a long timeout sleeps, which is
// allowed; the machine's Stop must still end it, which the caller checks by
// stopping it). Both host-call fuzz harnesses run their programs with it.
func RunCalls(t testing.TB, m *isle.Machine, mod []byte, args []string, limit time.Duration, mayOutlive bool) {
	t.Helper()
	prog, err := m.LoadBytes(context.Background(), args[0], mod)
	if err != nil {
		t.Fatalf("generated module does not load: %v", err)
	}
	p, err := m.Spawn(prog, args)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- p.Wait() }()
	select {
	case st := <-done:
		if st.Trap != "" || st.Killed {
			t.Fatalf("%+v", st)
		}
	case <-time.After(limit):
		if !mayOutlive {
			t.Fatalf("the SIP did not end within %v", limit)
		}
	}
}
